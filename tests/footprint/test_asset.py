"""From a metered window (fake NVML) to its footprint, through batch splitting."""

from __future__ import annotations

from decimal import Decimal

from tests.fixtures.fake_nvml import FakeGpu
from xcr_py.footprint import ConstantIntensity, site_pue, window_footprint
from xcr_py.meter import Meter, NvmlBackend, split_batch


def test_metered_batch_to_per_asset_footprints(fake_nvml, fake_clock):
    fake_nvml(FakeGpu(power_w=400.0), clock=fake_clock)
    meter = Meter([NvmlBackend(clock=fake_clock)], clock=fake_clock)
    meter.begin_window("batch")
    fake_clock.advance(3.0)
    batch = meter.end_window("batch")
    meter.close()
    parts = split_batch(batch, {"a": 3, "b": 1})
    fps = [window_footprint(p, intensity=ConstantIntensity(500), pue=site_pue(1.2),
                            device="H100") for p in parts]
    assert sum(fp.onchain().energy_mj for fp in fps) == batch.energy_mj
    a, b = fps
    assert a.energy.method == "measured" and "gpu:0:nvml-energy-counter" in a.energy.source
    assert a.gross_mg > b.gross_mg
    # O for a: 3/4 of ~1200 J at PUE 1.2 and 500 g/kWh = ~0.15 g
    assert abs(Decimal(a.operational_mg) - 150) <= 15
    low, high = a.interval_mg
    assert low <= a.gross_mg <= high
    assert a.embodied_share is not None and a.embodied_share.reserved.unit == "s"
