"""Intensity providers: constant, embedded (hourly and annual), files; embodied table; PUE."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from xcr_py.errors import InputError
from xcr_py.footprint import (
    ConstantIntensity,
    EmbeddedIntensity,
    FileIntensity,
    IntensityProvider,
    annual_zones,
    default_pue,
    device_share,
    embodied_device,
    embodied_devices,
    site_pue,
)
from xcr_py.footprint.hourly import embedded_index, load_zone

CSV_HEADER = ("Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO\u2082eq/kWh (direct),"
              "Carbon Intensity gCO\u2082eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,"
              "Data Source,Data Estimated,Data Estimation Method")


def _csv(tmp_path: Path) -> Path:
    """Three rows in the Electricity Maps hourly format (the shared/data files' layout)."""
    rows = [f"2024-07-04 0{h}:00:00,Germany,Germany,DE,100,{v},80,70,entsoe.eu,false,"
            for h, v in ((2, "177.74"), (3, "179.08"), (4, "181.5"))]
    path = tmp_path / "DE-LU_2024_hourly.csv"
    path.write_text("\n".join([CSV_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_all_providers_share_the_interface(tmp_path):
    table = tmp_path / "t.json"
    table.write_text(json.dumps({"source": "s", "zones": {"X": 1}}))
    for provider in (ConstantIntensity(100), EmbeddedIntensity(), FileIntensity(table)):
        assert isinstance(provider, IntensityProvider)


def test_embedded_hourly_value_for_a_2024_hour():
    when = datetime(2024, 3, 1, 12, 42, tzinfo=UTC)
    factor = EmbeddedIntensity().intensity("DE-LU", when)  # alias of DE
    assert factor.value == Decimal(load_zone("DE").at(when)) / 1000
    assert factor.method == "dataset" and factor.unit == "gCO2e/kWh"
    assert "Electricity Maps" in factor.source and "hour 2024-03-01T12:00:00+00:00" in factor.source


def test_embedded_annual_mean_outside_the_hourly_year_has_min_max_interval():
    factor = EmbeddedIntensity().intensity("DE", datetime(2026, 12, 3, 19, tzinfo=UTC))
    series = load_zone("DE").values_mg_per_kwh
    assert factor.value == Decimal(-(-sum(series) // len(series))) / 1000
    assert factor.low == Decimal(min(series)) / 1000 and factor.high == Decimal(max(series)) / 1000
    assert "annual mean 2024" in factor.source and "outside the hourly data" in factor.note
    index_mean = embedded_index()["zones"]["DE"]["mean_mg_per_kwh"]  # type: ignore[index]
    assert abs(factor.value * 1000 - index_mean) <= 1


def test_embedded_unknown_zone_and_naive_time():
    with pytest.raises(InputError, match="no embedded intensity for 'XX'"):
        EmbeddedIntensity().intensity("XX")
    with pytest.raises(InputError, match="when: must be timezone-aware"):
        EmbeddedIntensity().intensity("DE", datetime(2024, 1, 1))
    assert "US-CAL-CISO" in annual_zones() and len(annual_zones()) == 16


def test_constant_is_declared():
    f = ConstantIntensity(250, "supplier contract disclosure", (200, 300)).intensity("any")
    assert (f.value, f.method, f.low, f.high) == (250, "declared", 200, 300)


def test_file_json_and_csv(tmp_path):
    table = tmp_path / "intensity.json"
    table.write_text(json.dumps({"source": "utility report 2025", "unit": "gCO2e/kWh",
                                 "zones": {"SITE-A": {"value": 120.5, "interval": [100, 140]},
                                           "SITE-B": 80}}))
    provider = FileIntensity(table)
    a = provider.intensity("SITE-A")
    assert (a.value, a.low, a.high) == (Decimal("120.5"), 100, 140)
    assert "utility report 2025" in a.source
    with pytest.raises(InputError, match="no zone 'SITE-C'"):
        provider.intensity("SITE-C")
    csv = FileIntensity(_csv(tmp_path))
    when = datetime(2024, 7, 4, 3, 30, tzinfo=UTC)
    hourly = csv.intensity("DE-LU", when)
    assert (hourly.value, hourly.method) == (Decimal("179.08"), "dataset")
    assert "file DE-LU_2024_hourly.csv" in hourly.source
    with pytest.raises(InputError, match="holds zone DE, not GB"):
        csv.intensity("GB", when)
    with pytest.raises(InputError, match="when: is required"):
        csv.intensity("DE")


def test_file_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"zones": {"A": 1}}))
    with pytest.raises(InputError, match="source"):
        FileIntensity(bad)
    bad.write_text(json.dumps({"source": "s", "unit": "lb/MWh", "zones": {"A": 1}}))
    with pytest.raises(InputError, match="unit"):
        FileIntensity(bad)
    with pytest.raises(InputError, match=r"must be \.csv or \.json"):
        FileIntensity(tmp_path / "x.txt")


def test_embodied_table_rows_have_sources_and_honest_methods():
    assert {"A100", "H100", "L4", "RTX4090", "server-8gpu"} <= set(embodied_devices())
    for name in embodied_devices():
        row = embodied_device(name)
        assert row.total.unit == "kgCO2e" and row.total.source
        assert row.total.low < row.total.value < row.total.high
        assert row.total.method == "estimated"  # no vendor LCA in the table yet: say so
    assert embodied_device("rtx4090").name == "RTX4090"
    with pytest.raises(InputError, match="no embodied data for 'TPU'"):
        embodied_device("TPU")


def test_device_share_for_one_gpu_of_a_server():
    share = device_share("server-8gpu", 3600, resources_reserved=1, resources_total=8)
    assert share.exact_g() == Fraction(2_500_000, 35_040 * 8)  # grams, 1 h of 1 GPU slot of 8


def test_pue_default_and_site_override():
    pue = default_pue()
    assert pue.value == Decimal("1.56") and "Uptime Institute" in pue.source
    assert pue.low <= pue.value <= pue.high
    assert site_pue(1.12).value == Decimal("1.12")
    with pytest.raises(InputError, match="pue"):
        site_pue(0.95)
