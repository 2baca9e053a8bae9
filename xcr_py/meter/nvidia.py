"""NVIDIA GPUs through NVML (``pynvml``): the cumulative energy counter, or power sampling.

* ``nvmlDeviceGetTotalEnergyConsumption`` (Volta and newer): millijoules since the driver was
  loaded, updated about every 100 ms. Source ``"nvml-energy-counter"``.
* Where that raises NotSupported, a background thread samples ``nvmlDeviceGetPowerUsage``
  (milliwatts) and integrates it (trapezoid rule). Source ``"nvml-power-sampling"``.

NVML errors are translated here, once, into :class:`MeterError` / :class:`DeviceUnavailable`.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from types import ModuleType
from typing import Any

from xcr_py.errors import DeviceUnavailable, MeterError
from xcr_py.meter.base import Backend, Channel
from xcr_py.meter.select import GpuSelector

__all__ = ["NVML_COUNTER_PERIOD_S", "NVML_RELATIVE_ACCURACY", "NvmlBackend", "import_pynvml"]

NVML_COUNTER_PERIOD_S = 0.1
"""The energy counter (and the power reading it integrates) updates about every 100 ms."""

NVML_RELATIVE_ACCURACY = 0.05
"""Calibration bound assumed for NVML power/energy: +/-5 % of the value. NVIDIA documents the
board power reading's accuracy only loosely (nvidia-smi: "+/- 5 W" on some boards); this is a
stated assumption, not a vendor guarantee."""

DEFAULT_SAMPLING_S = 0.05


def import_pynvml() -> ModuleType:
    """Import ``pynvml`` quietly.

    The ``pynvml`` 13 wrapper installs an import hook that warns (FutureWarning) on every first
    import, although the module it serves is NVIDIA's own ``nvidia-ml-py``; the warning is noise.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import pynvml
    return pynvml


@contextmanager
def _translated(nvml: ModuleType, what: str) -> Iterator[None]:
    """Map NVML exceptions to XCR's at the seam."""
    try:
        yield
    except nvml.NVMLError as exc:
        name = type(exc).__name__
        if isinstance(exc, nvml.NVMLError_DriverNotLoaded | nvml.NVMLError_LibraryNotFound):
            raise DeviceUnavailable(f"{what}: NVIDIA driver or NVML library not available "
                                    f"({name})") from exc
        if isinstance(exc, nvml.NVMLError_Uninitialized | nvml.NVMLError_GpuIsLost):
            raise DeviceUnavailable(f"{what}: GPU not usable ({name})") from exc
        raise MeterError(f"{what}: NVML call failed ({name})") from exc


class _CounterChannel(Channel):
    source = "nvml-energy-counter"
    method = "measured"
    resolution_s = NVML_COUNTER_PERIOD_S
    relative_accuracy = NVML_RELATIVE_ACCURACY

    def __init__(self, nvml: ModuleType, handle: Any, device: str) -> None:
        self._nvml = nvml
        self._handle = handle
        self.device = device

    def read_mj(self) -> int:
        with _translated(self._nvml, f"{self.device} energy counter"):
            return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))

    def power_mw(self) -> int | None:
        try:
            return int(self._nvml.nvmlDeviceGetPowerUsage(self._handle))
        except self._nvml.NVMLError:
            return None  # power is only used to size the uncertainty; the counter still counts


class _SamplingChannel(Channel):
    """Integrates sampled power into a cumulative counter on a background thread."""

    source = "nvml-power-sampling"
    method = "measured"
    relative_accuracy = NVML_RELATIVE_ACCURACY

    def __init__(self, nvml: ModuleType, handle: Any, device: str, interval_s: float,
                 clock: Callable[[], float], autostart: bool = True) -> None:
        self._nvml = nvml
        self._handle = handle
        self.device = device
        self._clock = clock
        # Power readings themselves are ~100 ms averages, so resolution is never better than that.
        self.resolution_s = max(interval_s, NVML_COUNTER_PERIOD_S)
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._energy_mj = 0.0
        self._last_t = clock()
        self._last_mw = self._read_power()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if autostart:
            self._thread = threading.Thread(target=self._run, name=f"xcr-nvml-{device}",
                                            daemon=True)
            self._thread.start()

    def _read_power(self) -> int:
        with _translated(self._nvml, f"{self.device} power reading"):
            return int(self._nvml.nvmlDeviceGetPowerUsage(self._handle))

    def sample_once(self) -> None:
        """Take one power sample and integrate up to now (the thread calls this)."""
        power = self._read_power()
        with self._lock:
            now = self._clock()
            self._energy_mj += (self._last_mw + power) / 2 * (now - self._last_t)
            self._last_t, self._last_mw = now, power

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.sample_once()
            except MeterError as exc:  # surfaced on the next read, not lost in the thread
                self._error = exc
                return

    def read_mj(self) -> int:
        if self._error is not None:
            raise MeterError(f"{self.device} power sampling stopped: {self._error}")
        now = self._clock()
        with self._lock:
            # Extend the last sample to now so a read between samples is not stale.
            return int(self._energy_mj + self._last_mw * (now - self._last_t))

    def power_mw(self) -> int | None:
        return self._last_mw

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class NvmlBackend(Backend):
    """GPUs through NVML.

    Args:
        gpus: NVML indices or ``GPU-`` UUIDs (see
            :func:`~xcr_py.meter.select.parse_cuda_visible_devices`); ``None`` for every GPU.
        sampling_interval_s: power-sampling period for GPUs without an energy counter.
        force_sampling: sample power even where the counter exists (to compare the two).
        clock: monotonic clock in seconds (injectable for tests).

    Raises:
        DeviceUnavailable: no driver, no library, a selected GPU in MIG mode, a bad selector.
    """

    def __init__(self, gpus: Sequence[GpuSelector] | None = None, *,
                 sampling_interval_s: float = DEFAULT_SAMPLING_S,
                 force_sampling: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._nvml = nvml = import_pynvml()
        with _translated(nvml, "NVML initialisation"):
            nvml.nvmlInit()
        self._channels: list[Channel] = []
        try:
            with _translated(nvml, "NVML device count"):
                count = int(nvml.nvmlDeviceGetCount())
            selectors: Sequence[GpuSelector] = list(range(count)) if gpus is None else gpus
            for selector in selectors:
                handle, index = self._handle(selector, count)
                self._check_not_mig(handle, index)
                self._channels.append(self._channel(handle, index, sampling_interval_s, clock,
                                                    force_sampling))
            if not self._channels:
                raise DeviceUnavailable("no NVIDIA GPU selected or present")
        except BaseException:
            self.close()
            raise

    def _handle(self, selector: GpuSelector, count: int) -> tuple[Any, int]:
        nvml = self._nvml
        if isinstance(selector, int):
            if not 0 <= selector < count:
                raise DeviceUnavailable(f"GPU index {selector} out of range: {count} GPU(s)")
            with _translated(nvml, f"GPU {selector}"):
                return nvml.nvmlDeviceGetHandleByIndex(selector), selector
        with _translated(nvml, f"GPU {selector}"):
            handle = nvml.nvmlDeviceGetHandleByUUID(selector)
            return handle, int(nvml.nvmlDeviceGetIndex(handle))

    def _check_not_mig(self, handle: Any, index: int) -> None:
        nvml = self._nvml
        try:
            current, _pending = nvml.nvmlDeviceGetMigMode(handle)
        except nvml.NVMLError_NotSupported:
            return  # not MIG-capable
        except nvml.NVMLError as exc:
            raise MeterError(f"gpu:{index} MIG mode query failed ({type(exc).__name__})") from exc
        if current == nvml.NVML_DEVICE_MIG_ENABLE:
            raise DeviceUnavailable(
                f"gpu:{index} is in MIG mode: NVML reports energy only for the whole GPU, which "
                "several instances share, so it cannot be attributed to this workload")

    def _channel(self, handle: Any, index: int, interval_s: float,
                 clock: Callable[[], float], force_sampling: bool) -> Channel:
        nvml = self._nvml
        device = f"gpu:{index}"
        if force_sampling:
            return _SamplingChannel(nvml, handle, device, interval_s, clock)
        try:
            nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        except nvml.NVMLError_NotSupported:
            return _SamplingChannel(nvml, handle, device, interval_s, clock)
        except nvml.NVMLError as exc:
            with _translated(nvml, f"{device} energy counter"):
                raise exc
        return _CounterChannel(nvml, handle, device)

    def channels(self) -> Sequence[Channel]:
        return tuple(self._channels)

    def close(self) -> None:
        super().close()
        self._channels = []
        # Already shut down or never initialised: nothing to release.
        with suppress(self._nvml.NVMLError):
            self._nvml.nvmlShutdown()
