"""RAPL backend against a fake sysfs tree, including counter wrap-around."""

from __future__ import annotations

from pathlib import Path

import pytest

from xcr_py.errors import DeviceUnavailable, MeterError
from xcr_py.meter import Meter, RaplBackend


def _zone(root: Path, name: str, label: str, energy_uj: int, max_uj: int) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "name").write_text(f"{label}\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return zone


def _set(zone: Path, energy_uj: int) -> None:
    # Atomic replace, as sysfs reads never see a half-written value.
    tmp = zone / "energy_uj.tmp"
    tmp.write_text(f"{energy_uj}\n")
    tmp.replace(zone / "energy_uj")


@pytest.fixture
def sysfs(tmp_path: Path) -> dict[str, Path]:
    return {
        "pkg0": _zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000, 262_143_328_850),
        "core": _zone(tmp_path, "intel-rapl:0:0", "core", 500_000, 262_143_328_850),
        "dram": _zone(tmp_path, "intel-rapl:0:1", "dram", 10_000, 65_712_999_613),
        "psys": _zone(tmp_path, "intel-rapl:1", "psys", 0, 262_143_328_850),
        "root": tmp_path,
    }


def test_discovers_package_and_dram_only(sysfs):
    backend = RaplBackend(sysfs["root"])
    assert [c.device for c in backend.channels()] == ["cpu:package-0", "cpu:dram-0"]
    assert {c.source for c in backend.channels()} == {"rapl"}


def test_window_reads_deltas_and_handles_wrap(sysfs, fake_clock):
    meter = Meter([RaplBackend(sysfs["root"])], clock=fake_clock)
    meter.begin_window("cpu")
    fake_clock.advance(1.0)
    _set(sysfs["pkg0"], 262_143_328_850 - 1_000)  # close to the top of the range
    _set(sysfs["dram"], 2_010_000)
    meter.begin_window("probe")  # an event in between reads the counters
    meter.end_window("probe")
    _set(sysfs["pkg0"], 4_000)  # wrapped: 1,000 uJ to the top, then 4,000 uJ
    result = meter.end_window("cpu")
    pkg, dram = result.devices
    expected_pkg_uj = (262_143_328_850 - 1_000 - 1_000_000) + 1_000 + 4_000
    assert pkg.span_energy_mj == expected_pkg_uj // 1000
    assert pkg.energy_mj == expected_pkg_uj // 1000  # the probe window took a zero-time share
    assert dram.energy_mj == 2_000
    assert pkg.method == "measured"
    meter.close()


def test_unreadable_or_missing_tree_is_device_unavailable(tmp_path):
    with pytest.raises(DeviceUnavailable, match=r"no RAPL"):
        RaplBackend(tmp_path)
    zone = _zone(tmp_path, "intel-rapl:0", "package-0", 1, 100)
    (zone / "max_energy_range_uj").write_text("garbage")
    with pytest.raises(DeviceUnavailable, match=r"cannot read"):
        RaplBackend(tmp_path)


def test_value_above_range_is_an_error(sysfs, fake_clock):
    meter = Meter([RaplBackend(sysfs["root"])], clock=fake_clock)
    meter.begin_window("x")
    _set(sysfs["dram"], 65_712_999_614)
    with pytest.raises(MeterError, match=r"exceeds max_energy_range_uj"):
        meter.end_window("x")
    meter.close()


def test_reader_thread_sees_wraps_between_events(tmp_path):
    import time

    zone = _zone(tmp_path, "intel-rapl:0", "package-0", 0, 1_000_000)  # wraps every 1 J
    meter = Meter([RaplBackend(tmp_path)])
    meter.begin_window("long")
    for raw in (600_000, 200_000, 800_000, 400_000):  # three wraps, 600 mJ each step
        _set(zone, raw)
        time.sleep(0.3)  # the reader thread polls every 50 ms
    result = meter.end_window("long")
    meter.close()
    assert result.devices[0].energy_mj == 2_400
