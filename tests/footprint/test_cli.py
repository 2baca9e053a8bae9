"""``xcr footprint`` and ``xcr explain``: same code path, JSON output, clear input errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner

from xcr_py.cli import cli
from xcr_py.meter import DeviceEnergy, EnergyWindow

FACTORS = ["--energy-kwh", "1", "--intensity", "100", "--pue", "1.5", "--embodied-kg", "1000",
           "--lifespan-years", "4", "--reserved-hours", "1"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_footprint_json_has_factors_results_and_onchain():
    result = run("footprint", *FACTORS, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["onchain"] == {"energy_mj": 3_600_000_000, "intensity_mg_per_kwh": 100_000,
                               "pue_milli": 1_500, "embodied_mg": 28_539, "gross_mg": 178_539}
    assert data["emissions"]["unit"] == "mgCO2e"
    for factor in data["factors"].values():
        assert {"value", "unit", "source", "method", "interval"} <= set(factor)


def test_explain_uses_the_same_footprint_and_lists_steps():
    fp = json.loads(run("footprint", *FACTORS, "--json").output)
    ex = json.loads(run("explain", *FACTORS, "--json").output)
    assert ex["footprint"] == fp
    names = [s["name"] for s in ex["steps"]]
    assert names[0] == "IT energy" and names[-1].startswith("On-chain")
    assert ex["steps"][-1]["value"] == "178539"
    text = run("explain", *FACTORS)
    assert text.exit_code == 0 and "Operational emissions" in text.output


def test_explain_a_window_file_uses_its_time_and_duration(tmp_path):
    window = EnergyWindow(
        "asset-9", datetime(2024, 6, 1, 13, 5, tzinfo=UTC), 12.5,
        (DeviceEnergy("gpu:0", "nvml-energy-counter", "measured", 4_000_000, 4_000_000,
                      3_700_000, 4_300_000, 0.1),))
    path = tmp_path / "window.json"
    path.write_text(json.dumps(window.to_dict()))
    result = run("explain", "--window", str(path), "--zone", "US-CAL-CISO", "--device", "L4",
                 "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    energy = data["footprint"]["factors"]["energy"]
    assert (energy["value"], energy["method"], energy["interval"]) == (4000, "measured",
                                                                      [3700, 4300])
    assert "hour 2024-06-01T13:00:00+00:00" in data["footprint"]["factors"]["intensity"]["source"]
    embodied = next(s for s in data["steps"] if s["name"] == "Embodied emissions")
    assert "12.5 s" in embodied["inputs"]["TiR"]
    assert data["footprint"]["method"] == "estimated"  # the L4 embodied figure is an estimate


def test_market_based_needs_an_instrument():
    result = run("footprint", "--energy-j", "10", "--intensity", "300", "--market-intensity", "5")
    assert result.exit_code == 2 and "--instrument" in result.output
    ok = run("footprint", "--energy-j", "10", "--intensity", "300", "--market-intensity", "5",
             "--instrument", "REC batch 2024-17", "--json")
    assert json.loads(ok.output)["market_based"]["instrument"] == "REC batch 2024-17"


def test_bad_inputs_exit_2_and_name_the_field(tmp_path):
    cases = [
        (["--intensity", "100"], "--energy-j"),
        (["--energy-j", "1", "--energy-kwh", "1", "--intensity", "1"], "--energy-j"),
        (["--energy-j", "1"], "--zone"),
        (["--energy-j", "1", "--zone", "NOPE"], "zone"),
        (["--energy-j", "1", "--intensity", "1", "--pue", "0.8"], "pue"),
        (["--energy-j", "1", "--intensity", "1", "--share", "2", "--device", "A100",
          "--reserved-hours", "1"], "--share"),
        (["--energy-j", "1", "--intensity", "1", "--embodied-kg", "10", "--reserved-hours", "1"],
         "--lifespan-years"),
        (["--energy-j", "1", "--intensity", "1", "--hour", "yesterday"], "--hour"),
        (["--window", str(tmp_path / "missing.json"), "--intensity", "1"], "missing.json"),
    ]
    for args, field in cases:
        result = run("footprint", *args)
        assert result.exit_code == 2, (args, result.output)
        assert field in result.output, (args, result.output)
    assert list(tmp_path.iterdir()) == []  # nothing written
