"""Shared behaviour: the same invariants against every backend.

Backends: NVML counter, NVML power sampling, RAPL, declared estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.fake_nvml import FakeClock, FakeGpu
from xcr_py.meter import EstimateBackend, EstimateSpec, Meter, NvmlBackend, RaplBackend

POWER_W = 250.0
Advance = Callable[[float], None]


def _counter(fake_nvml, clock: FakeClock, tmp_path: Path) -> tuple[Meter, Advance]:
    fake_nvml(FakeGpu(power_w=POWER_W), clock=clock)
    return Meter([NvmlBackend(clock=clock)], clock=clock), clock.advance


def _sampling(fake_nvml, clock: FakeClock, tmp_path: Path) -> tuple[Meter, Advance]:
    fake_nvml(FakeGpu(power_w=POWER_W, energy_supported=False), clock=clock)
    # The backend's own thread also samples (on the fake clock, so it adds nothing between the
    # test's steps); the test drives sampling explicitly so the result is deterministic.
    backend = NvmlBackend(clock=clock, sampling_interval_s=0.05)
    channel = backend.channels()[0]

    def advance(seconds: float) -> None:
        steps = max(1, round(seconds / 0.05))
        for _ in range(steps):
            clock.advance(seconds / steps)
            channel.sample_once()  # type: ignore[attr-defined]

    return Meter([backend], clock=clock), advance


def _rapl(fake_nvml, clock: FakeClock, tmp_path: Path) -> tuple[Meter, Advance]:
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    state = {"uj": 5_000_000}
    (zone / "energy_uj").write_text(f"{state['uj']}\n")

    def advance(seconds: float) -> None:
        clock.advance(seconds)
        state["uj"] += round(POWER_W * 1e6 * seconds)
        (zone / "energy_uj").write_text(f"{state['uj']}\n")

    return Meter([RaplBackend(tmp_path)], clock=clock), advance


def _estimate(fake_nvml, clock: FakeClock, tmp_path: Path) -> tuple[Meter, Advance]:
    backend = EstimateBackend([EstimateSpec("gpu:0", tdp_w=POWER_W)], clock=clock)
    return Meter([backend], clock=clock), clock.advance


BACKENDS = {"nvml-energy-counter": _counter, "nvml-power-sampling": _sampling, "rapl": _rapl,
            "declared-estimate": _estimate}


@pytest.fixture(params=sorted(BACKENDS))
def metered(request, fake_nvml, fake_clock, tmp_path):
    meter, advance = BACKENDS[request.param](fake_nvml, fake_clock, tmp_path)
    yield request.param, meter, advance
    meter.close()


def test_a_window_reports_its_energy_with_labels_and_interval(metered):
    source, meter, advance = metered
    advance(0.05)
    meter.begin_window("w")
    advance(2.0)
    d = meter.end_window("w").devices[0]
    assert d.source == source
    assert d.method == ("estimated" if source == "declared-estimate" else "measured")
    assert d.low_mj <= d.energy_mj <= d.high_mj
    assert d.low_mj <= POWER_W * 1000 * 2.0 <= d.high_mj
    assert abs(d.energy_mj - POWER_W * 1000 * 2.0) <= POWER_W * 1000 * 0.1 + 2


def test_overlapping_windows_add_up_to_the_union(metered):
    _, meter, advance = metered
    channel = meter._channels[0]  # read the same counter independently, at the same instants
    before = channel.read_mj()
    meter.begin_window("a")
    advance(1.0)
    meter.begin_window("b", weight=2)
    advance(1.0)
    meter.begin_window("c")
    advance(0.5)
    a = meter.end_window("a").devices[0]
    advance(1.0)
    c = meter.end_window("c").devices[0]
    b = meter.end_window("b").devices[0]
    union = channel.read_mj() - before
    assert a.energy_mj + b.energy_mj + c.energy_mj == union  # nothing counted twice
    assert a.span_energy_mj + b.span_energy_mj > union  # the spans do overlap
    assert a.shared and b.shared and c.shared
    assert all(x.low_mj <= x.energy_mj <= x.high_mj for x in (a, b, c))
    # while all three were open, b (weight 2) took half, a and c a quarter each
    assert b.energy_mj > c.energy_mj
