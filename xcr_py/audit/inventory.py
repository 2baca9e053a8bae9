"""The declared inventory of a render pipeline (``PIPELINE.toml``), validated strictly.

::

    [pipeline]
    name = "spring-campaign"

    [[stages]]
    name = "hero"                  # self-hosted model on named GPUs
    kind = "self-hosted"
    model = "sdxl"
    requests_per_day = 2000
    seconds_per_request = 4.0      # optional: with gpu.power_w gives power x time
    expected_wh_per_request = 0.5  # optional: wins over power x time
    params = { width = 1024, height = 1024, steps = 30 }
    gpu = { device = "A100", count = 1, energy_counter = true, power_w = 400 }

    [[stages]]
    name = "upscale"               # CPU-only stage
    kind = "cpu"
    model = "esrgan"
    requests_per_day = 2000
    rapl = false
    power_w = 65
    seconds_per_request = 1.5

    [[stages]]
    name = "concepts"              # cloud API
    kind = "cloud"
    provider = "acme"
    model = "acme-image-3"
    task = "image-generation"
    model_class = "any"
    requests_per_day = 500

Every table forbids unknown keys; a missing or unknown field raises
:class:`~xcr_py.errors.InputError` naming its dotted path (``stages.1.gpu.count``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xcr_py.errors import InputError

__all__ = [
    "PRE_VOLTA",
    "CloudStage",
    "CpuStage",
    "GpuSpec",
    "Pipeline",
    "PipelineInfo",
    "SelfHostedStage",
    "Stage",
    "load_pipeline",
    "parse_pipeline",
]

PRE_VOLTA = re.compile(r"^(tesla[ -]?)?(k\d+|m\d+|p\d+|gtx[ -]?(9|10)\d\d|titan[ -]?x[p]?)\b",
                       re.IGNORECASE)
"""Device names older than Volta: NVML has no total-energy counter there (power sampling only)."""

Name = Annotated[str, Field(min_length=1, max_length=128)]
PerDay = Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]
Seconds = Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)]
Watts = Annotated[float, Field(gt=0, le=100_000, allow_inf_nan=False)]
WattHours = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
ParamValue = int | float | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GpuSpec(_Strict):
    """GPUs of a self-hosted stage."""

    device: Name
    """Device model, e.g. ``"A100"``, ``"H100"``, ``"T4"``, ``"P100"``."""
    count: int = Field(ge=1, le=100_000)
    energy_counter: bool
    """Whether NVML's total-energy counter is supported (Volta and newer); else power sampling."""
    power_w: Watts | None = None
    """Board power under this workload, per GPU (for the power x time expectation)."""

    @model_validator(mode="after")
    def _counter_needs_volta(self) -> GpuSpec:
        if self.energy_counter and PRE_VOLTA.match(self.device.strip()):
            raise ValueError(f"energy_counter: {self.device!r} is older than Volta; NVML's "
                             "total-energy counter needs Volta or newer (set it to false)")
        return self


class _StageBase(_Strict):
    name: Name
    model: Name
    requests_per_day: PerDay
    expected_wh_per_request: WattHours | None = None
    """Declared expected energy per request (wins over power x time)."""
    params: dict[str, ParamValue] = Field(default_factory=dict)
    """Per-request parameters (resolution, steps, duration ...)."""


class SelfHostedStage(_StageBase):
    """A model served on GPUs the pipeline owns (metered by NVML)."""

    kind: Literal["self-hosted"]
    gpu: GpuSpec
    seconds_per_request: Seconds | None = None


class CpuStage(_StageBase):
    """A CPU-only stage (metered by RAPL where the host exposes it)."""

    kind: Literal["cpu"]
    rapl: bool
    """Whether RAPL energy counters are readable on the host."""
    power_w: Watts | None = None
    seconds_per_request: Seconds | None = None


class CloudStage(_StageBase):
    """A cloud API call: nothing to meter; estimated from published benchmarks if possible."""

    kind: Literal["cloud"]
    provider: Name
    task: Name
    model_class: Name = "any"


Stage = Annotated[SelfHostedStage | CpuStage | CloudStage, Field(discriminator="kind")]
KINDS = ("self-hosted", "cpu", "cloud")


class PipelineInfo(_Strict):
    """The ``[pipeline]`` table."""

    name: Name
    description: str = ""


class Pipeline(_Strict):
    """A declared render stack: one ``[pipeline]`` table and one or more ``[[stages]]``."""

    pipeline: PipelineInfo
    stages: tuple[Stage, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Pipeline:
        seen: set[str] = set()
        for i, stage in enumerate(self.stages):
            if stage.name in seen:
                raise ValueError(f"stages.{i}.name: {stage.name!r} is used twice")
            seen.add(stage.name)
        return self


def _error(exc: ValidationError, where: str) -> InputError:
    err = exc.errors()[0]
    parts = [str(p) for p in err["loc"] if str(p) not in KINDS]
    kind = err["type"]
    if kind == "missing":
        problem = "is required"
    elif kind == "extra_forbidden":
        problem = "is not a known field"
    elif kind in ("union_tag_not_found", "union_tag_invalid"):
        parts.append("kind")
        problem = f"must be one of {list(KINDS)}"
        if kind == "union_tag_not_found":
            problem = f"is required ({problem.replace('must be ', '')})"
    else:
        problem = err["msg"].removeprefix("Value error, ")
        head, sep, rest = problem.partition(": ")
        if sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", head):
            parts.extend(head.split("."))
            problem = rest
        if "input" in err and kind not in ("value_error",):
            problem = f"{problem}, got {err['input']!r}"
    return InputError(".".join(parts) or "(root)", f"{problem} (in {where})")


def parse_pipeline(doc: object, where: str = "pipeline") -> Pipeline:
    """Validate an already-parsed inventory (a dict); ``where`` names it in errors."""
    try:
        return Pipeline.model_validate(doc)
    except ValidationError as exc:
        raise _error(exc, where) from None


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and validate ``PIPELINE.toml``.

    Raises:
        InputError: unreadable file, invalid TOML, or a missing / unknown / bad field
            (named by its dotted path, with the limit it broke).
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"cannot read the pipeline inventory: {exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"is not valid TOML: {exc}") from exc
    return parse_pipeline(doc, str(path))
