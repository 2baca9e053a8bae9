"""The result of metering: one :class:`EnergyWindow` per key, one :class:`DeviceEnergy` per device.

Units are in the names: ``*_mj`` are integer millijoules (what the chain carries), ``*_j`` float
joules for people. Every device entry says where its number came from (``source``) and whether
it was measured or estimated (``method``); an estimate is never reported as a measurement.

A window whose every device is ``published-benchmark`` (a cloud-API generation estimated from
the published per-inference table, :mod:`xcr_py.cloud`) reports the window method
``"estimated (published benchmark)"``; any other estimated or mixed window is ``"estimated"``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from xcr_py.errors import InputError

__all__ = [
    "BENCHMARK_METHOD",
    "BENCHMARK_SOURCE",
    "METHODS",
    "SOURCES",
    "DeviceEnergy",
    "EnergyWindow",
    "Method",
    "WindowMethod",
]

Method = Literal["measured", "estimated"]
METHODS: tuple[str, ...] = ("measured", "estimated")
BENCHMARK_SOURCE = "published-benchmark"
"""Device source of an energy taken from a published per-inference benchmark (cloud APIs)."""
SOURCES: tuple[str, ...] = (
    "nvml-energy-counter",
    "nvml-power-sampling",
    "rapl",
    "declared-estimate",
    BENCHMARK_SOURCE,
)
BENCHMARK_METHOD = "estimated (published benchmark)"
"""Window method when every device's energy came from a published benchmark."""
WindowMethod = Literal["measured", "estimated", "estimated (published benchmark)"]


@dataclass(frozen=True)
class DeviceEnergy:
    """Energy of one device attributed to one window.

    Attributes:
        device: device id, e.g. ``"gpu:0"`` or ``"cpu:package-0"``.
        source: how it was read, one of :data:`SOURCES`.
        method: ``"measured"`` or ``"estimated"``.
        energy_mj: energy attributed to this window (its share when windows overlapped). Units: mJ.
        span_energy_mj: the device's whole energy over the window's span, shared or not. Units: mJ.
        low_mj: lower bound of the attributed energy (worst case). Units: mJ.
        high_mj: upper bound of the attributed energy (worst case). Units: mJ.
        resolution_s: update period of the counter (or sampling period). Units: s.
        shared: true when another window was open on this device during this one.
        below_resolution: true when the window was shorter than the counter's update period
            (or the counter did not tick), so ``energy_mj`` is power x time, not a counter delta.
    """

    device: str
    source: str
    method: Method
    energy_mj: int
    span_energy_mj: int
    low_mj: int
    high_mj: int
    resolution_s: float
    shared: bool = False
    below_resolution: bool = False

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise InputError("device.source", f"must be one of {SOURCES}, got {self.source!r}")
        if self.method not in METHODS:
            raise InputError("device.method", f"must be one of {METHODS}, got {self.method!r}")
        if self.source == BENCHMARK_SOURCE and self.method != "estimated":
            raise InputError("device.method", f"must be 'estimated' for source {BENCHMARK_SOURCE!r}"
                             f" (a published benchmark is not a measurement), got {self.method!r}")
        for name in ("energy_mj", "span_energy_mj", "low_mj", "high_mj"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"device.{name}", f"must be an integer >= 0 mJ, got {value!r}")
        if not self.low_mj <= self.energy_mj <= self.high_mj:
            raise InputError("device.low_mj", "interval must contain the value: "
                             f"{self.low_mj} <= {self.energy_mj} <= {self.high_mj} is false")

    @property
    def energy_j(self) -> float:
        """Attributed energy. Units: J."""
        return self.energy_mj / 1000


@dataclass(frozen=True)
class EnergyWindow:
    """Energy metered for one key (usually one asset, or one batch before :func:`split_batch`).

    Attributes:
        key: the caller's key, e.g. an asset id.
        started_at: UTC wall-clock time at the start.
        duration_s: monotonic duration. Units: s.
        devices: one entry per metered device.
        weight: the declared weight of this window (used by batch splitting); 1 by default.
    """

    key: str
    started_at: datetime
    duration_s: float
    devices: tuple[DeviceEnergy, ...]
    weight: int = 1
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.started_at.tzinfo is None:
            raise InputError("window.started_at", "must be timezone-aware (UTC)")
        if not self.duration_s >= 0:
            raise InputError("window.duration_s", f"must be >= 0 s, got {self.duration_s!r}")
        if not self.devices:
            raise InputError("window.devices", "must list at least one device")

    @property
    def energy_mj(self) -> int:
        """Total attributed energy over all devices. Units: mJ."""
        return sum(d.energy_mj for d in self.devices)

    @property
    def energy_j(self) -> float:
        """Total attributed energy over all devices. Units: J."""
        return self.energy_mj / 1000

    @property
    def low_mj(self) -> int:
        """Lower bound of the total (sum of per-device worst cases). Units: mJ."""
        return sum(d.low_mj for d in self.devices)

    @property
    def high_mj(self) -> int:
        """Upper bound of the total (sum of per-device worst cases). Units: mJ."""
        return sum(d.high_mj for d in self.devices)

    @property
    def uncertainty_j(self) -> tuple[float, float]:
        """Absolute interval ``(low, high)`` of the total. Units: J."""
        return self.low_mj / 1000, self.high_mj / 1000

    @property
    def method(self) -> WindowMethod:
        """How the total was obtained, never better than its weakest device.

        ``"measured"`` only when every device was measured; ``"estimated (published
        benchmark)"`` when every device's source is :data:`BENCHMARK_SOURCE`; otherwise
        (any estimate, or a mix) ``"estimated"``.
        """
        if all(d.method == "measured" for d in self.devices):
            return "measured"
        if all(d.source == BENCHMARK_SOURCE for d in self.devices):
            return "estimated (published benchmark)"
        return "estimated"

    def by_kind(self, kind: str) -> int:
        """Attributed energy of devices whose id starts with ``kind:`` (``"gpu"``). Units: mJ."""
        return sum(d.energy_mj for d in self.devices if d.device.split(":", 1)[0] == kind)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; integers in mJ, with units spelled out."""
        return {
            "key": self.key,
            "started_at": self.started_at.isoformat(),
            "duration_s": self.duration_s,
            "method": self.method,
            "weight": self.weight,
            "energy_mj": self.energy_mj,
            "interval_mj": [self.low_mj, self.high_mj],
            "unit": "mJ",
            "notes": list(self.notes),
            "devices": [asdict(d) for d in self.devices],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnergyWindow:
        """Inverse of :meth:`to_dict`; raises :class:`InputError` naming the bad field."""
        try:
            devices = tuple(DeviceEnergy(**d) for d in data["devices"])
            return cls(
                key=str(data["key"]),
                started_at=datetime.fromisoformat(data["started_at"]),
                duration_s=float(data["duration_s"]),
                devices=devices,
                weight=int(data.get("weight", 1)),
                notes=tuple(data.get("notes", ())),
            )
        except KeyError as exc:
            raise InputError(f"window.{exc.args[0]}", "is required") from exc
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError("window", f"is not a valid energy window: {exc}") from exc

    @classmethod
    def load(cls, path: Path) -> EnergyWindow:
        """Read a window written by :meth:`to_dict` (JSON file)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(str(path), f"cannot read an energy window JSON file: {exc}") from exc
        if not isinstance(data, dict):
            raise InputError(str(path), "must hold a JSON object")
        return cls.from_dict(data)
