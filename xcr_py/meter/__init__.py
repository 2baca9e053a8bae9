"""Meter: per-asset energy windows from NVML, RAPL or a declared estimate.

Public API::

    meter = open_meter(gpus=parse_cuda_visible_devices(env_value))
    with meter.window("asset-42") as w:
        render()
    w.result            # EnergyWindow: per-device mJ, method, source, interval
    split_batch(window, [pixels * steps for ...])   # one window -> N assets, exact mJ
"""

from xcr_py.meter.base import Backend, Channel
from xcr_py.meter.batch import split_batch, split_exact
from xcr_py.meter.estimate import ESTIMATE_RELATIVE_INTERVAL, EstimateBackend, EstimateSpec
from xcr_py.meter.meter import Meter, WindowHandle, open_meter
from xcr_py.meter.nvidia import NvmlBackend
from xcr_py.meter.rapl import RaplBackend
from xcr_py.meter.select import GpuSelector, parse_cuda_visible_devices
from xcr_py.meter.window import DeviceEnergy, EnergyWindow

__all__ = [
    "ESTIMATE_RELATIVE_INTERVAL",
    "Backend",
    "Channel",
    "DeviceEnergy",
    "EnergyWindow",
    "EstimateBackend",
    "EstimateSpec",
    "GpuSelector",
    "Meter",
    "NvmlBackend",
    "RaplBackend",
    "WindowHandle",
    "open_meter",
    "parse_cuda_visible_devices",
    "split_batch",
    "split_exact",
]
