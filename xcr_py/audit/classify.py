"""How XCR accounts for each declared stage, and the expected measured / estimated shares.

Accounting per stage:

* self-hosted on GPUs with NVML's total-energy counter (Volta and newer):
  ``measured (NVML energy counter)``; older GPUs: ``measured (NVML power sampling)``;
* CPU-only with readable RAPL: ``measured (RAPL)``; without RAPL but a declared power:
  ``estimated (declared power x time)``; without either: ``not covered``;
* cloud API with an entry in the published table: ``estimated (published benchmark)``;
  without one: ``not covered``.

Shares rule (``docs/audit.md``): each stage's expected energy per day is
``requests_per_day x energy per request``, where the energy per request is, in order,
the declared ``expected_wh_per_request``, else declared power x ``seconds_per_request``
(GPU: ``gpu.power_w x gpu.count``; CPU: ``power_w``), else, for a cloud stage, the table's
central estimate. A stage with none of these is *unquantified*: listed, left out of the
shares. Shares are of expected energy; they stand for shares of emissions on the assumption
that all stages draw from the same grid and facility (the audit knows neither).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from xcr_py.audit.inventory import CloudStage, CpuStage, Pipeline, SelfHostedStage
from xcr_py.cloud import CloudTable, default_table
from xcr_py.errors import InputError
from xcr_py.footprint.factor import Factor, to_decimal

__all__ = ["BUCKETS", "AuditReport", "Bucket", "StageAudit", "audit_pipeline"]

Bucket = Literal["measured", "estimated", "not covered"]
BUCKETS: tuple[Bucket, ...] = ("measured", "estimated", "not covered")

NVML_COUNTER = "measured (NVML energy counter)"
NVML_SAMPLING = "measured (NVML power sampling)"
RAPL = "measured (RAPL)"
DECLARED = "estimated (declared power x time)"
BENCHMARK = "estimated (published benchmark)"
NOT_COVERED = "not covered"


@dataclass(frozen=True)
class StageAudit:
    """One stage: how it is accounted for, its expected energy and what to change.

    ``energy_per_request`` is a :class:`Factor` in Wh (``None`` when unquantified);
    ``energy_per_day_kwh`` is its central value x requests per day. Units: kWh per day.
    """

    name: str
    kind: str
    model: str
    accounting: str
    bucket: Bucket
    requests_per_day: Decimal
    energy_per_request: Factor | None
    energy_per_day_kwh: Decimal | None
    share: Decimal | None
    advice: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; energies carry unit, source, method and interval."""
        return {
            "name": self.name, "kind": self.kind, "model": self.model,
            "accounting": self.accounting, "bucket": self.bucket,
            "requests_per_day": float(self.requests_per_day),
            "energy_per_request": None if self.energy_per_request is None
            else self.energy_per_request.to_dict(),
            "energy_per_day": None if self.energy_per_day_kwh is None or
            self.energy_per_request is None
            else {"value": float(self.energy_per_day_kwh), "unit": "kWh/day",
                  "method": self.energy_per_request.method,
                  "source": "requests_per_day x energy_per_request"},
            "share_of_expected_energy": None if self.share is None else float(self.share),
            "advice": list(self.advice),
        }


@dataclass(frozen=True)
class AuditReport:
    """The audit of one pipeline. ``shares`` are fractions (0..1) of the quantified energy."""

    pipeline: str
    stages: tuple[StageAudit, ...]
    total_kwh_per_day: Decimal
    shares: dict[Bucket, Decimal]
    unquantified: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report (``xcr audit --json``)."""
        return {
            "pipeline": self.pipeline,
            "stages": [s.to_dict() for s in self.stages],
            "expected_energy": {"value": float(self.total_kwh_per_day), "unit": "kWh/day",
                                "method": "estimated",
                                "source": "declared inventory (see docs/audit.md)"},
            "shares": {k: float(v) for k, v in self.shares.items()},
            "shares_basis": "fraction of expected energy per day of the quantified stages; "
                            "equal to the share of emissions if all stages share a grid",
            "unquantified": list(self.unquantified),
        }


def _declared(stage: SelfHostedStage | CpuStage | CloudStage, prefix: str) -> Factor | None:
    if stage.expected_wh_per_request is not None:
        return Factor(to_decimal(stage.expected_wh_per_request), "Wh",
                      f"{prefix}.expected_wh_per_request (declared in the inventory)",
                      "declared")
    power = None
    if isinstance(stage, SelfHostedStage) and stage.gpu.power_w is not None:
        power = to_decimal(stage.gpu.power_w) * stage.gpu.count
        what = f"{prefix}.gpu.power_w x gpu.count x seconds_per_request"
    elif isinstance(stage, CpuStage) and stage.power_w is not None:
        power = to_decimal(stage.power_w)
        what = f"{prefix}.power_w x seconds_per_request"
    seconds = getattr(stage, "seconds_per_request", None)
    if power is None or seconds is None:
        return None
    wh = power * to_decimal(seconds) / 3600
    return Factor(wh, "Wh", f"{what} (declared in the inventory)", "declared")


def _gpu(stage: SelfHostedStage) -> tuple[str, list[str]]:
    if stage.gpu.energy_counter:
        return NVML_COUNTER, []
    return NVML_SAMPLING, [
        f"{stage.gpu.device} has no NVML energy counter: power sampling misses short peaks; "
        "a Volta-or-newer GPU (V100, A100, H100, L4 ...) is read by its total-energy "
        "counter instead"]


def _cpu(stage: CpuStage) -> tuple[str, list[str]]:
    if stage.rapl:
        return RAPL, []
    advice = ["run on a host with readable RAPL (/sys/class/powercap/intel-rapl; Intel, or "
              "AMD Zen on Linux >= 5.8) to measure instead of estimate"]
    if stage.power_w is not None:
        return DECLARED, advice
    return NOT_COVERED, [*advice, "or declare power_w so XCR can estimate power x time"]


def _cloud(stage: CloudStage, table: CloudTable) -> tuple[str, list[str], Factor | None]:
    from xcr_py.cloud import estimate_cloud_request

    try:
        est = estimate_cloud_request(stage.task, stage.model_class, stage.provider,
                                     stage.params, table=table)
    except InputError as exc:
        return NOT_COVERED, [
            f"no published figure applies ({exc.problem}); add an entry for task "
            f"{stage.task!r} / model_class {stage.model_class!r} to the cloud table (a data "
            "change), or self-host the model on NVML-metered GPUs"], None
    e = est.energy
    per_request = Factor(e.value / 3600, "Wh", e.source, "estimated",
                         (e.low / 3600, e.high / 3600), note=BENCHMARK)
    spread = (e.high / e.value).quantize(Decimal("0.1")) if e.value else Decimal(0)
    return BENCHMARK, [
        f"estimated from {est.entry_id} (up to x{spread} the central value); to measure, "
        f"self-host {stage.model} on NVML-metered GPUs, or obtain per-request energy from "
        f"{stage.provider} and add it to the cloud table as a provider entry"], per_request


def audit_pipeline(pipeline: Pipeline, *, table: CloudTable | None = None) -> AuditReport:
    """Classify every stage and compute the expected measured / estimated shares."""
    table = table or default_table()
    rows: list[tuple[Any, str, list[str], Factor | None]] = []
    for i, stage in enumerate(pipeline.stages):
        prefix = f"stages.{i}"
        declared = _declared(stage, prefix)
        if isinstance(stage, SelfHostedStage):
            accounting, advice = _gpu(stage)
            energy = declared
        elif isinstance(stage, CpuStage):
            accounting, advice = _cpu(stage)
            energy = declared
        else:
            accounting, advice, energy = _cloud(stage, table)
            energy = energy or declared
        if energy is None:
            advice.append("declare expected_wh_per_request (or power and "
                          "seconds_per_request) so this stage's share can be computed")
        rows.append((stage, accounting, advice, energy))

    per_day = [None if e is None else e.value * to_decimal(s.requests_per_day) / 1000
               for s, _, _, e in rows]
    total = sum((d for d in per_day if d is not None), Decimal(0))
    shares: dict[Bucket, Decimal] = dict.fromkeys(BUCKETS, Decimal(0))
    stages: list[StageAudit] = []
    for (stage, accounting, advice, energy), day in zip(rows, per_day, strict=True):
        bucket: Bucket = ("measured" if accounting.startswith("measured") else
                          "estimated" if accounting.startswith("estimated") else "not covered")
        share = None if day is None or total == 0 else day / total
        if share is not None:
            shares[bucket] += share
        stages.append(StageAudit(stage.name, stage.kind, stage.model, accounting, bucket,
                                 to_decimal(stage.requests_per_day), energy, day, share,
                                 tuple(advice)))
    unquantified = tuple(s.name for s in stages if s.energy_per_day_kwh is None)
    return AuditReport(pipeline.pipeline.name, tuple(stages), total, shares, unquantified)
