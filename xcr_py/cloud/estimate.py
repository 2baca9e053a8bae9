"""Estimated energy of one cloud-API generation, from the published per-inference table.

A cloud API gives XCR no hardware to meter, so the energy of such a request is *estimated*
from published measurements: the entry for (task, model class[, provider]) gives joules per
inference with its interval; declared request parameters scale it only where the entry says
its source supports that. The result is labelled ``"estimated (published benchmark)"`` and
carries the entry id, the full citation, the hardware and the year.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from xcr_py.cloud.table import CloudEntry, CloudTable, default_table
from xcr_py.errors import InputError
from xcr_py.footprint.factor import Factor, to_decimal
from xcr_py.meter.window import BENCHMARK_METHOD, BENCHMARK_SOURCE, DeviceEnergy, EnergyWindow

__all__ = [
    "CLOUD_DEVICE",
    "METHOD",
    "EnergyEstimate",
    "cloud_window",
    "estimate_cloud_request",
]

METHOD = BENCHMARK_METHOD
"""The method label every cloud estimate carries."""

CLOUD_DEVICE = "gpu:cloud"
"""Device id used in an :class:`EnergyWindow` built from an estimate (counted as GPU energy)."""

ParamValue = int | float | str


@dataclass(frozen=True)
class EnergyEstimate:
    """Estimated energy of one cloud request.

    Attributes:
        energy: per-request energy as a :class:`Factor` (unit ``J``, method ``estimated``,
            source = entry id and citation, interval from the entry, scaled).
        entry_id: the table entry used.
        task, model_class, provider: what was asked for (provider may be ``None``).
        citation, year, hardware: the published source of the figure.
        scale: the product of the declared-parameter scalings applied (1 when none).
        method: always :data:`METHOD`.
        notes: how the figure was derived (interval basis, scaling note).
    """

    energy: Factor
    entry_id: str
    task: str
    model_class: str
    provider: str | None
    citation: str
    year: int
    hardware: str
    scale: Decimal
    method: str = METHOD
    notes: tuple[str, ...] = field(default=())

    @property
    def energy_j(self) -> Decimal:
        """Central estimate. Units: J."""
        return self.energy.value

    @property
    def energy_mj(self) -> int:
        """Central estimate in integer millijoules, rounded up. Units: mJ."""
        return int((self.energy.value * 1000).to_integral_value(rounding=ROUND_CEILING))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, with unit, source, method and interval."""
        return {"method": self.method, "entry": self.entry_id, "task": self.task,
                "model_class": self.model_class, "provider": self.provider,
                "energy": self.energy.to_dict(), "citation": self.citation, "year": self.year,
                "hardware": self.hardware, "scale": str(self.scale), "notes": list(self.notes)}


def _scale(entry: CloudEntry, params: Mapping[str, ParamValue]) -> Decimal:
    scale = Decimal(1)
    for s in entry.scaling:
        if s.param not in params:
            raise InputError(f"params.{s.param}", f"is required by table entry {entry.id!r} "
                             f"(scales with {s.param}, reference {s.reference})")
        raw = params[s.param]
        value = to_decimal(raw, f"params.{s.param}") if not isinstance(raw, str) else None
        if value is None or value <= 0:
            raise InputError(f"params.{s.param}", f"must be a number > 0, got {raw!r}")
        ratio = value / s.reference
        scale *= ratio ** s.exponent
    return scale


def estimate_cloud_request(task: str, model_class: str = "any", provider: str | None = None,
                           params: Mapping[str, ParamValue] | None = None, *,
                           table: CloudTable | None = None) -> EnergyEstimate:
    """Estimate the energy of one cloud-API generation from published measurements.

    Args:
        task: e.g. ``"image-generation"``.
        model_class: e.g. ``"sdxl"``, ``"turbo"``, or ``"any"`` for the task-wide figure.
        provider: the API provider; its own entry wins over a provider-agnostic one.
        params: declared request parameters (``steps``, ``width``, ...); used only by
            entries that declare a scaling.
        table: another table (default: the one shipped in the package).

    Raises:
        InputError: no entry for the task or model class (the message lists what exists),
            or a scaling parameter missing or not a positive number.
    """
    table = table or default_table()
    params = dict(params or {})
    if task not in table.tasks():
        raise InputError("task", f"no published figure for {task!r}; the table covers "
                         f"{table.tasks()}")
    entry = table.find(task, model_class, provider)
    if entry is None:
        raise InputError("model_class", f"no published figure for {task!r} / {model_class!r};"
                         f" model classes with a figure: {table.model_classes(task)}")
    source = table.sources[entry.source]
    scale = _scale(entry, params)
    per_unit = entry.joules_per_inference / entry.value  # J per table unit
    value = entry.value * per_unit * scale
    low, high = (b * per_unit * scale for b in entry.interval)
    energy = Factor(value, "J", f"{entry.id}: {source.citation}"[:1000], "estimated",
                    (low, high), note=METHOD)
    notes = (f"interval: {entry.interval_basis}", f"scaling: {entry.scaling_note}")
    return EnergyEstimate(energy=energy, entry_id=entry.id, task=task,
                          model_class=model_class, provider=provider,
                          citation=source.citation, year=source.year,
                          hardware=source.hardware, scale=scale, notes=notes)


def cloud_window(estimate: EnergyEstimate, key: str, *, started_at: datetime | None = None,
                 duration_s: float = 0.0) -> EnergyWindow:
    """The estimate as the same :class:`EnergyWindow` type the meter returns.

    The window has one device, :data:`CLOUD_DEVICE`, with ``method="estimated"`` and
    ``source="published-benchmark"``, so the window's method (and the receipt's
    ``energy.method``) is :data:`METHOD`; the entry id and citation travel in ``notes``.
    ``duration_s`` is the request's wall time as the caller saw it (used by the footprint
    only for the embodied share).
    """
    if duration_s < 0 or not math.isfinite(duration_s):
        raise InputError("duration_s", f"must be a finite number >= 0 s, got {duration_s!r}")
    e = estimate.energy
    value = estimate.energy_mj
    low = int((e.low * 1000).to_integral_value(rounding=ROUND_FLOOR))
    high = int((e.high * 1000).to_integral_value(rounding=ROUND_CEILING))
    device = DeviceEnergy(device=CLOUD_DEVICE, source=BENCHMARK_SOURCE, method="estimated",
                          energy_mj=value, span_energy_mj=value, low_mj=low, high_mj=high,
                          resolution_s=0.0)
    return EnergyWindow(key=key, started_at=started_at or datetime.now(UTC),
                        duration_s=duration_s, devices=(device,),
                        notes=(METHOD, f"entry {estimate.entry_id}", estimate.citation))
