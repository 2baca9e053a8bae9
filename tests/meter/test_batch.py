"""Batch splitting and the window's JSON form."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xcr_py.errors import InputError
from xcr_py.meter import DeviceEnergy, EnergyWindow, split_batch, split_exact


def _window(energy_mj: int = 1_000_001, low: int = 900_000, high: int = 1_100_003) -> EnergyWindow:
    gpu = DeviceEnergy("gpu:0", "nvml-energy-counter", "measured", energy_mj, energy_mj + 5,
                       low, high, 0.1)
    cpu = DeviceEnergy("cpu:package-0", "rapl", "measured", 7, 7, 6, 9, 0.001)
    return EnergyWindow("batch", datetime(2024, 5, 1, tzinfo=UTC), 3.5, (gpu, cpu))


@given(st.integers(0, 10**15), st.lists(st.integers(1, 10**9), min_size=1, max_size=40))
def test_split_exact_sums_and_is_proportional(total, weights):
    parts = split_exact(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        assert total * w // whole <= part <= total * w // whole + 1


@given(st.integers(0, 10**12), st.lists(st.integers(1, 10**6), min_size=1, max_size=20))
def test_split_batch_parts_keep_intervals(energy, weights):
    window = _window(energy, low=energy // 2, high=energy * 2 + 1)
    parts = split_batch(window, weights)
    assert len(parts) == len(weights)
    for j in range(len(window.devices)):
        assert sum(p.devices[j].energy_mj for p in parts) == window.devices[j].energy_mj
        for p in parts:
            d = p.devices[j]
            assert d.low_mj <= d.energy_mj <= d.high_mj


def test_split_by_pixels_times_steps_with_keys():
    weights = {"img-a": 1024 * 1024 * 30, "img-b": 512 * 512 * 30, "img-c": 1024 * 1024 * 50}
    parts = split_batch(_window(), weights)
    assert [p.key for p in parts] == ["img-a", "img-b", "img-c"]
    assert sum(p.energy_mj for p in parts) == _window().energy_mj
    gpu = [p.devices[0].energy_mj for p in parts]
    assert gpu[2] > gpu[0] > gpu[1]
    assert "split 2 of 3" in parts[1].notes[-1]
    assert all(p.method == "measured" for p in parts)


@pytest.mark.parametrize("weights, field", [
    ([], "weights"), ([1, 0], r"weights\[1\]"), ([1, -3], r"weights\[1\]"),
    ([1.5], r"weights\[0\]"),
])
def test_bad_weights_are_named(weights, field):
    with pytest.raises(InputError, match=field):
        split_batch(_window(), weights)


def test_window_json_round_trip(tmp_path):
    window = _window()
    path = tmp_path / "w.json"
    import json

    path.write_text(json.dumps(window.to_dict()))
    again = EnergyWindow.load(path)
    assert again == window
    assert window.to_dict()["unit"] == "mJ"
    assert window.uncertainty_j == (900.006, 1100.012)


def test_window_validation_names_fields():
    with pytest.raises(InputError, match=r"device.source"):
        DeviceEnergy("gpu:0", "guess", "measured", 1, 1, 1, 1, 0.1)
    with pytest.raises(InputError, match=r"device.low_mj"):
        DeviceEnergy("gpu:0", "rapl", "measured", 5, 5, 6, 9, 0.1)
    with pytest.raises(InputError, match=r"device.energy_mj"):
        DeviceEnergy("gpu:0", "rapl", "measured", -1, 5, 0, 9, 0.1)
    with pytest.raises(InputError, match=r"window.devices"):
        EnergyWindow("k", datetime(2024, 1, 1, tzinfo=UTC), 1.0, ())
    with pytest.raises(InputError, match=r"window.started_at"):
        EnergyWindow.from_dict({"key": "k", "started_at": "2024-01-01T00:00:00",
                                "duration_s": 1, "devices": [
                                    {"device": "gpu:0", "source": "rapl", "method": "measured",
                                     "energy_mj": 1, "span_energy_mj": 1, "low_mj": 1,
                                     "high_mj": 1, "resolution_s": 0.1}]})
    with pytest.raises(InputError, match=r"window.devices: is required"):
        EnergyWindow.from_dict({"key": "k"})
