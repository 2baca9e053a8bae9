"""NVML backend against the fake NVML: counter, sampling fallback, selection, MIG, init failure."""

from __future__ import annotations

import time

import pytest

from tests.fixtures.fake_nvml import FakeGpu, pynvml
from xcr_py.errors import DeviceUnavailable, MeterError
from xcr_py.meter import Meter, NvmlBackend, open_meter, parse_cuda_visible_devices


def test_counter_window_matches_true_energy_within_interval(fake_nvml, fake_clock):
    gpu = FakeGpu(power_w=300.0)
    fake_nvml(gpu, clock=fake_clock)
    with Meter([NvmlBackend(clock=fake_clock)], clock=fake_clock) as meter:
        fake_clock.advance(0.05)
        t0 = fake_clock()
        with meter.window("asset-1") as w:
            fake_clock.advance(2.0)
        t1 = fake_clock()
    dev = w.result.devices[0]
    true_mj = gpu.energy_at(t1) - gpu.energy_at(t0)
    assert dev.device == "gpu:0"
    assert dev.source == "nvml-energy-counter"
    assert dev.method == "measured" and w.result.method == "measured"
    assert dev.low_mj <= true_mj <= dev.high_mj
    # 2 s at 300 W = 600 J; the counter is stale by < 100 ms at each end
    assert abs(dev.energy_mj - 600_000) <= 30_000
    assert w.duration_s == pytest.approx(2.0)
    assert not dev.below_resolution and not dev.shared


def test_short_window_is_not_zero_and_interval_covers_resolution(fake_nvml, fake_clock):
    gpu = FakeGpu(power_w=200.0)
    fake_nvml(gpu, clock=fake_clock)
    meter = Meter([NvmlBackend(clock=fake_clock)], clock=fake_clock)
    fake_clock.advance(0.01)  # inside one 100 ms counter period
    t0 = fake_clock()
    meter.begin_window("tiny")
    fake_clock.advance(0.02)
    result = meter.end_window("tiny")
    dev = result.devices[0]
    assert dev.below_resolution
    assert dev.energy_mj == 4_000  # 200 W x 20 ms, not 0
    assert dev.low_mj == 0
    assert dev.high_mj >= 20_000  # a full 100 ms of power could be hidden in the counter
    true_mj = gpu.energy_at(fake_clock()) - gpu.energy_at(t0)
    assert dev.low_mj <= true_mj <= dev.high_mj
    meter.close()


def test_not_supported_falls_back_to_power_sampling(fake_nvml, fake_clock):
    gpu = FakeGpu(power_w=100.0, energy_supported=False)
    fake_nvml(gpu, clock=fake_clock)
    backend = NvmlBackend(clock=fake_clock, sampling_interval_s=3600)  # thread never fires
    channel = backend.channels()[0]
    assert channel.source == "nvml-power-sampling"
    meter = Meter([backend], clock=fake_clock)
    meter.begin_window("old-gpu")
    for _ in range(10):
        fake_clock.advance(0.1)
        channel.sample_once()  # type: ignore[attr-defined]
    result = meter.end_window("old-gpu")
    assert result.devices[0].energy_mj == pytest.approx(100_000, abs=1)
    assert result.devices[0].source == "nvml-power-sampling"
    meter.close()


def test_sampling_thread_integrates_in_real_time(fake_nvml):
    fake_nvml(FakeGpu(power_w=50.0, energy_supported=False))
    with open_meter(use_rapl=False) as meter, meter.window("live") as w:
        time.sleep(0.3)
    dev = w.result.devices[0]
    assert dev.source == "nvml-power-sampling"
    assert dev.low_mj <= 50 * 1000 * w.duration_s <= dev.high_mj


def test_several_gpus_and_cuda_visible_devices_selection(fake_nvml, fake_clock):
    gpus = [FakeGpu(power_w=100.0), FakeGpu(power_w=200.0), FakeGpu(power_w=400.0)]
    fake_nvml(*gpus, clock=fake_clock)
    selectors = parse_cuda_visible_devices(f"2,{gpus[0].uuid or 'GPU-fake-0000'}")
    meter = Meter([NvmlBackend(selectors, clock=fake_clock)], clock=fake_clock)
    assert meter.devices == ("gpu:2", "gpu:0")
    meter.begin_window("a")
    fake_clock.advance(1.0)
    result = meter.end_window("a")
    by_device = {d.device: d.energy_mj for d in result.devices}
    assert by_device["gpu:2"] == pytest.approx(400_000, abs=40_000)
    assert by_device["gpu:0"] == pytest.approx(100_000, abs=10_000)
    assert result.by_kind("gpu") == result.energy_mj
    meter.close()


def test_parse_cuda_visible_devices_follows_cuda_rules():
    assert parse_cuda_visible_devices(None) is None
    assert parse_cuda_visible_devices("") == []
    assert parse_cuda_visible_devices("1, 0") == [1, 0]
    assert parse_cuda_visible_devices("0,-1,2") == [0]  # CUDA stops at the first invalid entry
    assert parse_cuda_visible_devices("GPU-abc,3") == ["GPU-abc", 3]
    with pytest.raises(DeviceUnavailable, match=r"MIG"):
        parse_cuda_visible_devices("MIG-1234")


@pytest.mark.parametrize("code, name", [
    (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "NVMLError_DriverNotLoaded"),
    (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, "NVMLError_LibraryNotFound"),
])
def test_init_failure_is_device_unavailable(fake_nvml, code, name):
    fake_nvml(FakeGpu(), init_error=code)
    with pytest.raises(DeviceUnavailable, match=name) as info:
        NvmlBackend()
    assert isinstance(info.value.__cause__, pynvml.NVMLError)


def test_mig_mode_is_refused_clearly_and_nvml_released(fake_nvml):
    fake = fake_nvml(FakeGpu(mig=True))
    with pytest.raises(DeviceUnavailable, match=r"MIG mode"):
        NvmlBackend()
    assert fake.initialised == 0  # nvmlShutdown was called on the failure path


def test_not_mig_capable_device_is_fine(fake_nvml):
    fake_nvml(FakeGpu(mig=None))
    backend = NvmlBackend()
    assert backend.channels()[0].device == "gpu:0"
    backend.close()


def test_bad_index_and_unknown_uuid(fake_nvml):
    fake_nvml(FakeGpu())
    with pytest.raises(DeviceUnavailable, match=r"out of range"):
        NvmlBackend([3])
    with pytest.raises(MeterError, match=r"NVMLError_NotFound"):
        NvmlBackend(["GPU-nope"])
    with pytest.raises(DeviceUnavailable, match=r"no NVIDIA GPU selected"):
        NvmlBackend([])


def test_counter_error_mid_run_is_translated(fake_nvml, fake_clock):
    gpu = FakeGpu()
    fake_nvml(gpu, clock=fake_clock)
    meter = Meter([NvmlBackend(clock=fake_clock)], clock=fake_clock)
    meter.begin_window("x")
    gpu.energy_error = pynvml.NVML_ERROR_GPU_IS_LOST
    with pytest.raises(DeviceUnavailable, match=r"GpuIsLost"):
        meter.end_window("x")
    meter.close()


def test_open_meter_without_anything_measurable_says_why(fake_nvml, tmp_path):
    fake_nvml(FakeGpu(), init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    with pytest.raises(DeviceUnavailable, match=r"GPU not metered.*CPU not metered"):
        open_meter(rapl_root=tmp_path)


def test_force_sampling_on_a_counter_gpu(fake_nvml, fake_clock):
    fake_nvml(FakeGpu(power_w=80.0), clock=fake_clock)
    backend = NvmlBackend(force_sampling=True, sampling_interval_s=3600, clock=fake_clock)
    assert backend.channels()[0].source == "nvml-power-sampling"
    backend.close()
