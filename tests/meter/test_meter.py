"""Meter semantics: overlap sharing, no double counting, thread safety, key handling."""

from __future__ import annotations

import threading

import pytest

from tests.fixtures.fake_nvml import FakeGpu
from xcr_py.errors import InputError, MeterError
from xcr_py.meter import EstimateBackend, EstimateSpec, Meter, NvmlBackend


def _meter(fake_nvml, clock, *gpus: FakeGpu) -> Meter:
    fake_nvml(*(gpus or (FakeGpu(power_w=100.0),)), clock=clock)
    return Meter([NvmlBackend(clock=clock)], clock=clock)


def test_overlapping_windows_share_and_never_double_count(fake_nvml, fake_clock):
    gpu = FakeGpu(power_w=100.0)
    meter = _meter(fake_nvml, fake_clock, gpu)
    fake_clock.advance(0.05)
    t0 = fake_clock()
    meter.begin_window("a")
    fake_clock.advance(1.0)
    meter.begin_window("b")
    fake_clock.advance(1.0)
    a = meter.end_window("a")
    fake_clock.advance(1.0)
    b = meter.end_window("b")
    union_true = gpu.energy_at(fake_clock()) - gpu.energy_at(t0)
    da, db = a.devices[0], b.devices[0]
    assert da.shared and db.shared
    # a: 1 s alone + half of 1 s shared = 150 J; b: 50 J + 100 J alone = 150 J
    assert da.energy_mj == pytest.approx(150_000, abs=10_000)
    assert db.energy_mj == pytest.approx(150_000, abs=10_000)
    # spans: each saw the whole device energy over its own 2 s
    assert da.span_energy_mj == pytest.approx(200_000, abs=10_000)
    # the shares add up to the counter over the union exactly: nothing counted twice
    counted_union = da.energy_mj + db.energy_mj
    assert counted_union <= da.span_energy_mj + db.span_energy_mj
    assert abs(counted_union - union_true) <= 100 * 1000 * 0.1  # one counter period of power
    for d in (da, db):
        assert d.low_mj <= d.energy_mj <= d.high_mj
    meter.close()


def test_weights_set_the_share_while_overlapping(fake_nvml, fake_clock):
    meter = _meter(fake_nvml, fake_clock, FakeGpu(power_w=100.0))
    meter.begin_window("big", weight=3)
    meter.begin_window("small", weight=1)
    fake_clock.advance(4.0)
    big = meter.end_window("big")
    small = meter.end_window("small")
    total = big.devices[0].energy_mj + small.devices[0].energy_mj
    assert big.devices[0].energy_mj * 1 == pytest.approx(small.devices[0].energy_mj * 3, abs=3)
    assert total == big.devices[0].span_energy_mj
    meter.close()


def test_nested_windows(fake_nvml, fake_clock):
    meter = _meter(fake_nvml, fake_clock)
    with meter.window("outer") as outer:
        fake_clock.advance(1.0)
        with meter.window("inner") as inner:
            fake_clock.advance(1.0)
        fake_clock.advance(1.0)
    o, i = outer.result.devices[0], inner.result.devices[0]
    assert o.energy_mj + i.energy_mj == o.span_energy_mj
    assert i.span_energy_mj < o.span_energy_mj
    assert outer.energy_j == pytest.approx(250.0, abs=15)  # attribute access is forwarded
    meter.close()


def test_window_closes_when_block_raises(fake_nvml, fake_clock):
    meter = _meter(fake_nvml, fake_clock)
    with pytest.raises(RuntimeError), meter.window("boom") as handle:
        fake_clock.advance(0.5)
        raise RuntimeError("render failed")
    assert meter.open_keys == ()
    assert handle.result.energy_mj > 0
    meter.close()


def test_key_errors_name_the_field(fake_nvml, fake_clock):
    meter = _meter(fake_nvml, fake_clock)
    meter.begin_window("k")
    with pytest.raises(InputError, match=r"key: window 'k' is already open"):
        meter.begin_window("k")
    with pytest.raises(InputError, match=r"no open window 'zz'"):
        meter.end_window("zz")
    with pytest.raises(InputError, match=r"weight: must be an integer > 0"):
        meter.begin_window("w", weight=0)
    with pytest.raises(InputError, match=r"key: must be a non-empty string"):
        meter.begin_window("")
    assert meter.open_keys == ("k",)  # the failed calls changed nothing
    handle_result = meter.end_window("k")
    assert handle_result.key == "k"
    meter.close()


def test_result_before_end_is_an_error(fake_nvml, fake_clock):
    meter = _meter(fake_nvml, fake_clock)
    with meter.window("open") as handle, pytest.raises(MeterError, match=r"still open"):
        _ = handle.result
    meter.close()


def test_threads_metering_concurrently_sum_to_device_energy(fake_nvml):
    gpu = FakeGpu(power_w=250.0)
    fake_nvml(gpu)
    meter = Meter([NvmlBackend()])
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        barrier.wait()
        for j in range(20):
            meter.begin_window(f"t{n}-{j}")
            result = meter.end_window(f"t{n}-{j}")
            with lock:
                results.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 160
    assert len({r.key for r in results}) == 160
    assert meter.open_keys == ()
    for r in results:
        d = r.devices[0]
        assert d.low_mj <= d.energy_mj <= d.high_mj
    meter.close()


def test_estimate_backend_is_labelled_and_wide(fake_clock):
    meter = Meter([EstimateBackend([EstimateSpec("gpu:0", tdp_w=350, utilisation=0.8)],
                                   clock=fake_clock)], clock=fake_clock)
    meter.begin_window("e")
    fake_clock.advance(10.0)
    result = meter.end_window("e")
    d = result.devices[0]
    assert result.method == "estimated"
    assert (d.method, d.source) == ("estimated", "declared-estimate")
    assert d.energy_mj == 2_800_000  # 350 W x 0.8 x 10 s
    assert (d.low_mj, d.high_mj) == (1_400_000, 4_200_000)  # +/-50 %


def test_mixed_measured_and_estimated_is_estimated(fake_nvml, fake_clock):
    fake_nvml(FakeGpu(), clock=fake_clock)
    meter = Meter([NvmlBackend(clock=fake_clock),
                   EstimateBackend([EstimateSpec("cpu:0", tdp_w=100)], clock=fake_clock)],
                  clock=fake_clock)
    with meter.window("m") as w:
        fake_clock.advance(1.0)
    assert w.result.method == "estimated"
    assert {d.method for d in w.result.devices} == {"measured", "estimated"}
    meter.close()


@pytest.mark.parametrize("field, kwargs", [
    ("estimate.tdp_w", {"device": "gpu:0", "tdp_w": 0}),
    ("estimate.utilisation", {"device": "gpu:0", "tdp_w": 300, "utilisation": 1.5}),
    ("estimate.device", {"device": "gpu0", "tdp_w": 300}),
])
def test_estimate_spec_validation(field, kwargs):
    with pytest.raises(InputError, match=field):
        EstimateSpec(**kwargs)


def test_meter_releases_backends_when_construction_fails(fake_nvml, fake_clock):
    fake = fake_nvml(FakeGpu(), clock=fake_clock)
    duplicate = EstimateBackend([EstimateSpec("gpu:0", tdp_w=100)], clock=fake_clock)
    with pytest.raises(InputError, match="device ids must be unique"):
        Meter([NvmlBackend(clock=fake_clock), duplicate], clock=fake_clock)
    assert fake.initialised == 0  # NVML was shut down
