"""CPU (and DRAM) energy through Linux RAPL powercap sysfs.

Reads ``<root>/intel-rapl:N/energy_uj`` (package) and ``intel-rapl:N:M`` zones named ``dram``
(DRAM is outside the package domain on servers). ``core``/``uncore`` are inside the package and
``psys`` overlaps everything, so they are skipped to avoid double counting. The counter wraps at
``max_energy_range_uj``; each read adds the wrapped difference, so the meter must read at least
once per wrap period (``max_read_interval_s``; the Meter keeps a reader thread for that).
The root is injectable so tests run against a fake sysfs tree.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from xcr_py.errors import DeviceUnavailable, MeterError
from xcr_py.meter.base import Backend, Channel

__all__ = ["DEFAULT_RAPL_ROOT", "RAPL_RELATIVE_ACCURACY", "RaplBackend", "RaplChannel"]

DEFAULT_RAPL_ROOT = Path("/sys/class/powercap")

RAPL_RELATIVE_ACCURACY = 0.05
"""Assumed calibration bound for RAPL (+/-5 %); Intel publishes none. Stated assumption."""

RAPL_UPDATE_S = 0.001
"""RAPL counters update about every millisecond."""

MAX_PLAUSIBLE_POWER_UW = 1_000_000_000
"""1 kW per domain: an upper bound used only to decide how often to read so no wrap is missed."""


def _read_int(path: Path, what: str) -> int:
    try:
        return int(path.read_text().strip())
    except PermissionError as exc:
        raise DeviceUnavailable(f"{what}: {path} is not readable (RAPL needs root on Linux "
                                ">= 5.10)") from exc
    except (OSError, ValueError) as exc:
        raise DeviceUnavailable(f"{what}: cannot read {path}: {exc}") from exc


class RaplChannel(Channel):
    """One RAPL domain with wrap-around handling."""

    source = "rapl"
    method = "measured"
    resolution_s = RAPL_UPDATE_S
    relative_accuracy = RAPL_RELATIVE_ACCURACY

    def __init__(self, zone: Path, device: str) -> None:
        self.device = device
        self._energy_path = zone / "energy_uj"
        self._max_uj = _read_int(zone / "max_energy_range_uj", device)
        if self._max_uj <= 0:
            raise DeviceUnavailable(f"{device}: max_energy_range_uj must be > 0")
        self.max_read_interval_s = self._max_uj / MAX_PLAUSIBLE_POWER_UW / 2
        self._lock = threading.Lock()
        self._last_uj = _read_int(self._energy_path, device)
        self._total_uj = 0

    def read_mj(self) -> int:
        raw = _read_int(self._energy_path, self.device)
        with self._lock:
            if raw > self._max_uj:
                raise MeterError(f"{self.device}: energy_uj {raw} exceeds max_energy_range_uj "
                                 f"{self._max_uj}")
            delta = raw - self._last_uj
            if delta < 0:  # wrapped once since the last read
                delta += self._max_uj
            self._total_uj += delta
            self._last_uj = raw
            return self._total_uj // 1000


class RaplBackend(Backend):
    """Every readable package and DRAM domain under ``root``.

    Raises:
        DeviceUnavailable: no RAPL zones, or zones that cannot be read.
    """

    def __init__(self, root: Path = DEFAULT_RAPL_ROOT) -> None:
        root = Path(root)
        zones = sorted(p for p in root.glob("intel-rapl:*") if (p / "energy_uj").exists())
        channels: list[Channel] = []
        for zone in zones:
            name = _read_name(zone)
            parts = zone.name.split(":")
            if name.startswith("package") and len(parts) == 2:
                channels.append(RaplChannel(zone, f"cpu:{name}"))
            elif name == "dram":
                channels.append(RaplChannel(zone, f"cpu:dram-{parts[1]}"))
        if not channels:
            raise DeviceUnavailable(f"no RAPL package or dram zones under {root}")
        self._channels = channels

    def channels(self) -> Sequence[Channel]:
        return tuple(self._channels)


def _read_name(zone: Path) -> str:
    try:
        return (zone / "name").read_text().strip()
    except OSError:
        return ""
