"""Property tests: any valid inputs give a receipt whose bytes round-trip and whose integers
are the units.py arithmetic, rounding never understating."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.receipt.examples import parts
from xcr_py import units
from xcr_py.receipt import build_receipt, parse_receipt, receipt_bytes

joules = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)
grams = st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False)


def _factor(value: float, unit: str, spread: float) -> dict[str, Any]:
    return {"value": value, "unit": unit, "source": "s", "method": "dataset",
            "interval": {"low": value / (1 + spread), "high": value * (1 + spread)}}


@settings(max_examples=60, deadline=None)
@given(gpu=joules, cpu=joules, intensity=st.floats(0, 2000), pue=st.floats(1, 3),
       embodied=grams, ratio=st.integers(10_000, 100_000), spread=st.floats(0, 1))
def test_any_valid_receipt_round_trips(gpu: float, cpu: float, intensity: float, pue: float,
                                       embodied: float, ratio: int, spread: float) -> None:
    total = gpu + cpu
    receipt = build_receipt(**parts(
        energy={"gpu_j": gpu, "cpu_j": cpu, "window_s": 1.0, "method": "measured",
                "sources": ["nvml:0"],
                "uncertainty": {"low": total / (1 + spread), "high": total * (1 + spread)}},
        factors={"intensity": _factor(intensity, "gCO2e/kWh", spread),
                 "pue": {**_factor(pue, "1", spread),
                         "interval": {"low": 1.0, "high": pue * (1 + spread)}},
                 "embodied": _factor(embodied, "gCO2e", spread)},
        ratio_bps=ratio))
    data = receipt_bytes(receipt)
    assert parse_receipt(data, canonical=True) == receipt
    e = receipt.emissions
    # integers never understate the stated values
    assert e.energy_mj >= total * 1000 * (1 - 1e-12)
    assert e.intensity_mg_per_kwh >= intensity * 1000 * (1 - 1e-12)
    assert e.pue_milli >= pue * 1000 * (1 - 1e-12)
    assert e.gross_mg == units.gross_emissions_mg(e.energy_mj, e.intensity_mg_per_kwh,
                                                  e.pue_milli, e.embodied_mg)
    assert receipt.removal.required_mg * 10_000 >= e.gross_mg * ratio
    assert e.interval_g.low <= e.gross_g <= e.interval_g.high
