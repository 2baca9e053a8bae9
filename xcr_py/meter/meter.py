"""The :class:`Meter`: keyed energy windows over any set of channels, thread-safe.

Overlap rule (documented in ``docs/metering.md``). Every ``begin_window``/``end_window`` is an
event at which all counters are read once. Between two events the device energy (the counter
difference) is divided among the windows open in that interval in proportion to their weights
(1 by default), exactly in integer millijoules. A window's ``energy_mj`` is the sum of its
shares; ``span_energy_mj`` is the device's whole energy over its span. Shares of one interval
sum to the interval's energy, so the windows' ``energy_mj`` add up to the device energy over the
union of their spans: nothing is counted twice.

Uncertainty. A counter reading may be stale by up to ``resolution_s`` (NVML: ~100 ms). Writing a
window's energy as a sum of interval shares and summing by parts, the error is a sum over events
of (change of the window's share) x (staleness energy at that event, in ``[0, P x resolution]``),
with ``P`` the device power at the event (the instantaneous reading, or the interval's mean
power if higher). Share increases widen the lower bound, decreases the upper. Then the sensor's
calibration bound (``relative_accuracy``) is applied. Bounds are worst case.

A window shorter than the counter's resolution, or one over which the counter did not tick, does
not report 0 J: its energy is the larger of the counted value and power x (its share of) time,
flagged ``below_resolution``; its interval runs from the counted value less the staleness bound
(often 0) to the counted value plus a full resolution of energy.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xcr_py.errors import DeviceUnavailable, InputError, MeterError
from xcr_py.meter.base import Backend, Channel
from xcr_py.meter.batch import split_exact
from xcr_py.meter.estimate import EstimateBackend, EstimateSpec
from xcr_py.meter.select import GpuSelector
from xcr_py.meter.window import DeviceEnergy, EnergyWindow

__all__ = ["Meter", "WindowHandle", "open_meter"]


@dataclass
class _Open:
    key: str
    weight: int
    t0: float
    started_at: datetime
    begin: list[int]
    attributed: list[int]
    err_up: list[float]
    err_down: list[float]
    attributed_time_s: float = 0.0
    shared: bool = False


@dataclass
class WindowHandle:
    """What ``with meter.window(key) as w`` yields; ``w.result`` is the window after the block.

    Attribute access is forwarded to the result, so ``w.energy_j`` works after the block.
    """

    key: str
    _result: EnergyWindow | None = field(default=None, repr=False)

    @property
    def result(self) -> EnergyWindow:
        """The finished :class:`EnergyWindow`."""
        if self._result is None:
            raise MeterError(f"window {self.key!r} is still open")
        return self._result

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.result, name)


class Meter:
    """Keyed energy windows over the channels of one or more backends.

    Args:
        backends: the device backends (see :func:`open_meter` for the usual choice).
        clock: monotonic clock in seconds; injectable for tests.
        wall_clock: UTC wall clock for ``started_at``.
        notes: remarks copied onto every window (e.g. why a device is not metered).

    Raises:
        DeviceUnavailable: the backends expose no channel.
    """

    def __init__(self, backends: Sequence[Backend], *,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 notes: Sequence[str] = ()) -> None:
        self._backends = list(backends)
        self._channels: list[Channel] = [c for b in self._backends for c in b.channels()]
        try:
            self._setup(clock, wall_clock, notes)
        except BaseException:
            for backend in self._backends:  # the meter owns them: release on failure too
                backend.close()
            raise

    def _setup(self, clock: Callable[[], float], wall_clock: Callable[[], datetime],
               notes: Sequence[str]) -> None:
        if not self._channels:
            raise DeviceUnavailable("no metering channel: nothing to measure or estimate")
        names = [c.device for c in self._channels]
        if len(set(names)) != len(names):
            raise InputError("backends", f"device ids must be unique, got {names}")
        self._clock = clock
        self._wall_clock = wall_clock
        self._notes = tuple(notes)
        self._lock = threading.Lock()
        self._open: dict[str, _Open] = {}
        self._last = [c.read_mj() for c in self._channels]
        self._last_t = clock()
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None
        intervals = [c.max_read_interval_s for c in self._channels if c.max_read_interval_s]
        if intervals:
            # Floor: never poll faster than 20 Hz, whatever a tiny counter range suggests.
            period = max(min(intervals), 0.05)
            self._keeper = threading.Thread(target=self._keep_reading, args=(period,),
                                            name="xcr-meter-keeper", daemon=True)
            self._keeper.start()

    @property
    def devices(self) -> tuple[str, ...]:
        """Device ids metered, in channel order."""
        return tuple(c.device for c in self._channels)

    @property
    def open_keys(self) -> tuple[str, ...]:
        """Keys of the windows currently open."""
        with self._lock:
            return tuple(self._open)

    def _keep_reading(self, interval_s: float) -> None:
        # Counters that wrap (RAPL) must be read at least once per wrap period.
        while not self._stop.wait(interval_s):
            try:
                with self._lock:
                    self._sync()
            except MeterError:
                # _sync reads everything before changing state, so a failed round loses
                # nothing; a lasting fault surfaces at the caller's next begin/end.
                continue

    def _sync(self) -> tuple[float, list[int], list[float]]:
        """Read every counter and share the energy since the last event. Caller holds the lock.

        Returns the time, the readings and each channel's power reference in mW.
        """
        now = self._clock()
        readings = [c.read_mj() for c in self._channels]
        dt = now - self._last_t
        deltas = [r - last for r, last in zip(readings, self._last, strict=True)]
        for channel, delta in zip(self._channels, deltas, strict=True):
            if delta < 0:
                raise MeterError(f"{channel.device}: energy counter went backwards by {-delta} mJ")
        if self._open:
            windows = list(self._open.values())
            weights = [w.weight for w in windows]
            whole = sum(weights)
            for ci, delta in enumerate(deltas):
                for w, share in zip(windows, split_exact(delta, weights), strict=True):
                    w.attributed[ci] += share
            for w in windows:
                w.attributed_time_s += dt * w.weight / whole
        powers = []
        for channel, delta in zip(self._channels, deltas, strict=True):
            mean_mw = delta / dt if dt > 0 else 0.0
            powers.append(max(float(channel.power_mw() or 0), mean_mw))
        self._last, self._last_t = readings, now
        return now, readings, powers

    def _fractions(self) -> dict[str, float]:
        whole = sum(w.weight for w in self._open.values())
        return {k: w.weight / whole for k, w in self._open.items()}

    def _boundary(self, windows: Sequence[_Open], before: dict[str, float],
                  after: dict[str, float], powers: Sequence[float]) -> None:
        for w in windows:
            change = after.get(w.key, 0.0) - before.get(w.key, 0.0)
            if change == 0:
                continue
            for ci, channel in enumerate(self._channels):
                stale_mj = powers[ci] * channel.resolution_s
                if change > 0:
                    w.err_down[ci] += change * stale_mj
                else:
                    w.err_up[ci] += -change * stale_mj

    def begin_window(self, key: str, weight: int = 1) -> None:
        """Open a window. ``weight`` sets its share while it overlaps others (default 1).

        Raises:
            InputError: empty key, a key already open, or a weight that is not a positive int.
        """
        if not isinstance(key, str) or not key:
            raise InputError("key", "must be a non-empty string")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
            raise InputError("weight", f"must be an integer > 0, got {weight!r}")
        n = len(self._channels)
        with self._lock:
            if key in self._open:
                raise InputError("key", f"window {key!r} is already open")
            now, readings, powers = self._sync()
            before = self._fractions()
            window = _Open(key, weight, now, self._wall_clock(), readings, [0] * n,
                           [0.0] * n, [0.0] * n, shared=bool(self._open))
            for other in self._open.values():
                other.shared = True
            self._open[key] = window
            self._boundary(list(self._open.values()), before, self._fractions(), powers)

    def end_window(self, key: str) -> EnergyWindow:
        """Close a window and return its energy.

        Raises:
            InputError: no open window has this key.
            MeterError: a counter failed or went backwards.
        """
        with self._lock:
            if key not in self._open:
                raise InputError("key", f"no open window {key!r}")
            now, readings, powers = self._sync()
            before = self._fractions()
            window = self._open.pop(key)
            self._boundary([window, *self._open.values()], before, self._fractions(), powers)
        return self._result(window, now, readings, powers)

    @contextmanager
    def window(self, key: str, weight: int = 1) -> Iterator[WindowHandle]:
        """``with meter.window("asset-42") as w: ...``; then ``w.result`` (or ``w.energy_j``).

        The window is closed even when the block raises.
        """
        self.begin_window(key, weight)
        handle = WindowHandle(key)
        try:
            yield handle
        finally:
            handle._result = self.end_window(key)

    def _result(self, w: _Open, now: float, readings: list[int],
                powers: list[float]) -> EnergyWindow:
        duration = now - w.t0
        devices = []
        for ci, channel in enumerate(self._channels):
            counted = w.attributed[ci]
            below = duration < channel.resolution_s or (counted == 0 and duration > 0)
            energy = max(counted, math.ceil(powers[ci] * w.attributed_time_s)) if below else counted
            rel = channel.relative_accuracy
            low = max(0, math.floor(counted - w.err_down[ci] - rel * counted))
            high = math.ceil(max(energy, counted + w.err_up[ci]) * (1 + rel))
            devices.append(DeviceEnergy(
                device=channel.device, source=channel.source, method=channel.method,  # type: ignore[arg-type]
                energy_mj=energy, span_energy_mj=readings[ci] - w.begin[ci],
                low_mj=min(low, energy), high_mj=high, resolution_s=channel.resolution_s,
                shared=w.shared, below_resolution=below))
        return EnergyWindow(key=w.key, started_at=w.started_at, duration_s=duration,
                            devices=tuple(devices), weight=w.weight, notes=self._notes)

    def close(self) -> None:
        """Stop the reader thread and release every backend. Open windows are discarded."""
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=5)
        for backend in self._backends:
            backend.close()

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_meter(*, gpus: Sequence[GpuSelector] | None = None, use_gpu: bool = True,
               rapl_root: Path | None = None, use_rapl: bool = True,
               estimate: Sequence[EstimateSpec] = (),
               clock: Callable[[], float] = time.monotonic) -> Meter:
    """The usual meter: NVML GPUs and RAPL where they work; the estimate only if neither does.

    Args:
        gpus: GPU selectors (from :func:`~xcr_py.meter.select.parse_cuda_visible_devices`);
            ``None`` for all.
        rapl_root: powercap root (default ``/sys/class/powercap``).
        estimate: declared devices used when nothing can be measured.

    Raises:
        DeviceUnavailable: nothing measurable and no estimate declared (the message lists why).
    """
    from xcr_py.meter.nvidia import NvmlBackend
    from xcr_py.meter.rapl import DEFAULT_RAPL_ROOT, RaplBackend

    backends: list[Backend] = []
    reasons: list[str] = []
    if use_gpu:
        try:
            backends.append(NvmlBackend(gpus, clock=clock))
        except DeviceUnavailable as exc:
            reasons.append(f"GPU not metered: {exc}")
    if use_rapl:
        try:
            backends.append(RaplBackend(rapl_root or DEFAULT_RAPL_ROOT))
        except DeviceUnavailable as exc:
            reasons.append(f"CPU not metered: {exc}")
    if not backends:
        if not estimate:
            raise DeviceUnavailable("nothing can be measured and no estimate is declared: "
                                    + "; ".join(reasons))
        backends.append(EstimateBackend(estimate, clock=clock))
        reasons.append("using the declared estimate (TDP x utilisation x time)")
    return Meter(backends, clock=clock, notes=reasons)
