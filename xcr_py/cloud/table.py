"""The published per-inference energy table (``xcr_py/data/cloud_inference.json``).

Each entry is one published figure for one (task, model class[, provider]) with its source,
year, hardware, unit, an interval and the reason for that interval, and how (if at all)
declared request parameters scale it. Adding a provider or a model is a data change: add an
entry to the JSON file (or pass another file to :func:`load_table`); no code changes.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from xcr_py.errors import InputError

__all__ = [
    "ENERGY_UNITS_J",
    "CloudEntry",
    "CloudSource",
    "CloudTable",
    "Scaling",
    "default_table",
    "load_table",
    "validation_error",
]

ENERGY_UNITS_J: dict[str, Decimal] = {
    "kWh/1000 inferences": Decimal(3600),  # 3.6e6 J / 1000
    "Wh/inference": Decimal(3600),
    "J/inference": Decimal(1),
}
"""Joules per inference for one unit of each accepted table unit."""

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Positive = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudSource(_Strict):
    """A publication or leaderboard, cited in full."""

    citation: str = Field(min_length=10)
    year: int = Field(ge=2000, le=2100)
    url: str = Field(pattern=r"^https?://")
    hardware: str = Field(min_length=1)
    measured: str = Field(min_length=1, description="what was measured, in the source's terms")


class Scaling(_Strict):
    """``energy x (params[param] / reference) ** exponent``, only where the source supports it."""

    param: Name
    reference: Positive
    exponent: Annotated[Decimal, Field(gt=0, le=3, allow_inf_nan=False)] = Decimal(1)
    basis: str = Field(min_length=1, description="where the source supports this scaling")


class CloudEntry(_Strict):
    """One published per-inference figure."""

    id: Name
    task: Name
    model_class: Name
    provider: Name | None = None
    source: Name
    value: Positive
    unit: Literal["kWh/1000 inferences", "Wh/inference", "J/inference"]
    interval: tuple[Decimal, Decimal]
    interval_basis: str = Field(min_length=1)
    scaling: tuple[Scaling, ...] = ()
    scaling_note: str = Field(min_length=1)

    @model_validator(mode="after")
    def _interval_contains(self) -> CloudEntry:
        low, high = self.interval
        if not 0 <= low <= self.value <= high:
            raise ValueError(f"interval: must satisfy 0 <= low <= value <= high, got "
                             f"[{low}, {high}] for {self.value}")
        return self

    @property
    def joules_per_inference(self) -> Decimal:
        """The central figure per inference. Units: J."""
        return self.value * ENERGY_UNITS_J[self.unit]


class CloudTable(_Strict):
    """The whole table: sources by id, entries, and what was left out and why."""

    schema_id: Literal["xcr.cloud_inference/1"] = Field(alias="schema")
    about: str = ""
    sources: dict[Name, CloudSource]
    entries: tuple[CloudEntry, ...] = Field(min_length=1)
    omitted: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> CloudTable:
        seen: dict[tuple[str, str, str | None], str] = {}
        ids: set[str] = set()
        for i, e in enumerate(self.entries):
            if e.source not in self.sources:
                raise ValueError(f"entries.{i}.source: {e.source!r} is not in sources "
                                 f"({sorted(self.sources)})")
            if e.id in ids:
                raise ValueError(f"entries.{i}.id: {e.id!r} is used twice")
            ids.add(e.id)
            key = (e.task, e.model_class, e.provider)
            if key in seen:
                raise ValueError(f"entries.{i}: same task, model_class and provider as "
                                 f"{seen[key]!r}")
            seen[key] = e.id
        return self

    def tasks(self) -> list[str]:
        """Tasks with at least one entry."""
        return sorted({e.task for e in self.entries})

    def model_classes(self, task: str) -> list[str]:
        """Model classes with an entry for ``task``."""
        return sorted({e.model_class for e in self.entries if e.task == task})

    def find(self, task: str, model_class: str, provider: str | None = None) -> CloudEntry | None:
        """The provider's own entry, else the provider-agnostic one, else ``None``."""
        exact = general = None
        for e in self.entries:
            if e.task != task or e.model_class != model_class:
                continue
            if provider is not None and e.provider == provider:
                exact = e
            elif e.provider is None:
                general = e
        return exact or general


def validation_error(exc: ValidationError, where: str) -> InputError:
    """The first pydantic error as an :class:`InputError` naming the dotted field.

    ``where`` (a file name) is appended to the problem, so the field stays a plain dotted
    path: ``stages.1.gpu.count: is required (in pipeline.toml)``.
    """
    err = exc.errors()[0]
    parts = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
    kind = err["type"]
    if kind == "missing":
        problem = "is required"
    elif kind == "extra_forbidden":
        problem = "is not a known field"
    else:
        problem = err["msg"].removeprefix("Value error, ")
        # A model validator names its own sub-field: "interval: must ..." -> loc + "interval".
        head, sep, rest = problem.partition(": ")
        if sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", head):
            parts.append(head)
            problem = rest
    field = ".".join(parts) or "(root)"
    return InputError(field, f"{problem} (in {where})" if where else problem)


def load_table(path: str | Path | None = None) -> CloudTable:
    """Load and validate a table (default: the one shipped in the package).

    Raises:
        InputError: unreadable file or a field that breaks the schema (named, dotted).
    """
    if path is None:
        return default_table()
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"cannot read a cloud inference table: {exc}") from exc
    return _validate(doc, str(path))


def _validate(doc: object, where: str) -> CloudTable:
    try:
        return CloudTable.model_validate(doc)
    except ValidationError as exc:
        raise validation_error(exc, where) from None


@lru_cache(maxsize=1)
def default_table() -> CloudTable:
    """The table shipped in ``xcr_py/data/cloud_inference.json`` (read once)."""
    text = resources.files("xcr_py.data").joinpath("cloud_inference.json").read_text("utf-8")
    return _validate(json.loads(text, parse_float=Decimal), "cloud_inference.json")
