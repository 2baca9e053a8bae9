"""``xcr schedule plan`` and ``xcr schedule backtest`` end to end (click runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xcr_py.cli import cli
from xcr_py.footprint.hourly import load_zone

JOBS = {
    "now": "2024-06-03T00:00:00Z",
    "capacity": {"DE": 2, "GB": 2},
    "pue_milli": {"DE": 1200},
    "jobs": [
        {
            "id": "trailer-4k",
            "energy_kwh": 3.5,
            "energy_interval_kwh": [3.0, 4.2],
            "duration_h": 2,
            "earliest": "2024-06-03T08:00:00Z",
            "deadline": "2024-06-04T08:00:00Z",
            "regions": ["DE", "GB"],
        },
        {
            "id": "thumbs",
            "energy_kwh": 0.4,
            "duration_h": 1,
            "earliest": "2024-06-03T00:00:00Z",
            "deadline": "2024-06-03T12:00:00Z",
            "regions": ["GB"],
        },
        {
            "id": "urgent",
            "energy_kwh": 1.0,
            "duration_h": 3,
            "earliest": "2024-06-03T10:00:00Z",
            "deadline": "2024-06-03T12:00:00Z",
            "regions": ["DE"],
        },
    ],
}


@pytest.fixture
def jobs_file(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(JOBS))
    return path


def test_plan_prints_plan_saving_interval_and_error_model(jobs_file: Path) -> None:
    result = CliRunner().invoke(cli, ["schedule", "plan", str(jobs_file)])
    assert result.exit_code == 0, result.output
    assert "trailer-4k" in result.output and "thumbs" in result.output
    assert "infeasible urgent: deadline" in result.output
    assert "Expected saving vs run-now" in result.output and "95 % interval" in result.output
    assert "same hour yesterday" in result.output
    assert "life-cycle (LCA)" in result.output


def test_plan_json_carries_units_methods_and_sources(jobs_file: Path) -> None:
    result = CliRunner().invoke(
        cli, ["schedule", "plan", str(jobs_file), "--json", "--forecast", "perfect"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [i["job"] for i in doc["infeasible"]] == ["urgent"]
    assert {a["job"] for a in doc["assignments"]} == {"trailer-4k", "thumbs"}
    for a in doc["assignments"]:
        for key in ("expected_emissions", "forecast_intensity", "pue"):
            assert {"value", "unit", "method", "source"} <= set(a[key])
        assert a["expected_emissions"]["unit"] == "mg CO2e"
        assert a["end"] <= "2024-06-04T08:00:00+00:00"
    saving = doc["saving_vs_run_now"]
    low, high = saving["interval_95"]
    assert low <= saving["value"] <= high
    assert saving["value"] == saving["run_now_mg"] - saving["planned_mg"]
    assert "perfect foresight" in doc["error_model"]


def test_region_option_restricts_jobs(jobs_file: Path) -> None:
    result = CliRunner().invoke(
        cli, ["schedule", "plan", str(jobs_file), "--json", "--region", "GB"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert {a["region"] for a in doc["assignments"]} == {"GB"}
    reasons = {i["job"]: i["reason"] for i in doc["infeasible"]}
    assert "urgent" in reasons  # DE only: reported, not dropped


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"energy_kwh": -1}, "jobs[0].energy_kwh"),
        ({"deadline": "2024-06-03T07:00:00Z"}, "jobs[0].deadline"),
        ({"earliest": "2024-06-03T08:00:00"}, "jobs[0].earliest"),
        ({"gpus": 0}, "jobs[0].gpus"),
        ({"colour": "red"}, "jobs[0].colour"),
        ({"energy_mj": 5}, "jobs[0].energy_kwh"),  # both energy fields
        ({"energy_interval_kwh": [4.0, 3.0]}, "jobs[0].energy_low_mj"),  # low above the point
        ({"energy_interval_kwh": "wide"}, "jobs[0].energy_interval_kwh"),
        ({"duration_h": 1000}, "jobs[0].duration_h"),
        ({"regions": []}, "jobs[0].regions"),
    ],
)
def test_plan_bad_input_exit_2_naming_the_field(tmp_path: Path, patch: dict, field: str) -> None:
    doc = json.loads(json.dumps(JOBS))
    doc["jobs"][0].update(patch)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(cli, ["schedule", "plan", str(path)])
    assert result.exit_code == 2
    assert field in result.output


def test_plan_not_json_and_unknown_region(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{nope")
    result = CliRunner().invoke(cli, ["schedule", "plan", str(path)])
    assert result.exit_code == 2 and "not valid JSON" in result.output
    doc = json.loads(json.dumps(JOBS))
    for j in doc["jobs"]:
        j["regions"] = ["XX"]
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(cli, ["schedule", "plan", str(path)])
    assert result.exit_code == 2 and "no hourly data" in result.output


def test_backtest_json_reports_modes_per_zone() -> None:
    result = CliRunner().invoke(
        cli, ["schedule", "backtest", "--zones", "DE,SG", "--days", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [z["zone"] for z in doc["zones"]] == ["DE", "SG"]
    for z in doc["zones"]:
        e = z["emissions"]
        assert set(e) == {"run_now", "perfect", "persistence", "day_ahead"}
        assert e["perfect"]["value"] <= e["run_now"]["value"]
        assert z["saving_vs_run_now"]["perfect"]["unit"] == "mg CO2e"
        assert "percent" in z["saving_vs_run_now"]["persistence"]
    assert "jobs/day" in doc["job_mix"]


def _write_csv(directory: Path, zone: str, hours: int) -> None:
    values = load_zone("GB").values_mg_per_kwh[:hours]
    lines = [
        "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),"
        "Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,"
        "Data Source,Data Estimated,Data Estimation Method"
    ]
    for h, v in enumerate(values):
        lines.append(
            f"2023-01-{1 + h // 24:02d} {h % 24:02d}:00:00,Testland,Test,{zone},"
            f"{v / 1000:.2f},{v / 1000:.3f},50,50,test,false,"
        )
    (directory / f"{zone}_2023_hourly.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_backtest_other_data_dir_and_markdown(tmp_path: Path) -> None:
    _write_csv(tmp_path, "XX", 10 * 24)
    result = CliRunner().invoke(
        cli, ["schedule", "backtest", "--data", str(tmp_path), "--markdown"]
    )
    assert result.exit_code == 0, result.output
    assert "| XX |" in result.output and "perfect-foresight bound" in result.output
    result = CliRunner().invoke(
        cli, ["schedule", "backtest", "--data", str(tmp_path), "--zones", "DE"]
    )
    assert result.exit_code == 2 and "no hourly data for DE" in result.output


def test_backtest_rich_table() -> None:
    result = CliRunner().invoke(cli, ["schedule", "backtest", "--zones", "GB", "--days", "2"])
    assert result.exit_code == 0, result.output
    assert "GB" in result.output and "Job mix" in result.output


def test_plan_on_other_data_dir(tmp_path: Path) -> None:
    _write_csv(tmp_path, "XX", 6 * 24)
    doc = {
        "jobs": [
            {
                "id": "r",
                "energy_mj": 3_600_000_000,
                "duration_h": 2,
                "earliest": "2023-01-04T00:00:00Z",
                "deadline": "2023-01-05T00:00:00Z",
                "regions": ["XX"],
            }
        ]
    }
    path = tmp_path / "jobs.json"
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(
        cli, ["schedule", "plan", str(path), "--data", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["sources"]["XX"] == "persistence of file XX_2023_hourly.csv"
    a = out["assignments"][0]
    assert a["start"] >= "2023-01-04T00:00:00+00:00" and a["end"] <= "2023-01-05T00:00:00+00:00"


def test_plan_exact_method(tmp_path: Path, jobs_file: Path) -> None:
    doc = json.loads(json.dumps(JOBS))
    for j in doc["jobs"]:
        j["duration_h"] = 1
    path = tmp_path / "unit.json"
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(
        cli,
        [
            "schedule",
            "plan",
            str(path),
            "--method",
            "exact",
            "--forecast",
            "perfect",
            "--z",
            "0",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    exact = json.loads(result.output)
    assert {a["job"] for a in exact["assignments"]} == {"trailer-4k", "thumbs", "urgent"}
    greedy = json.loads(
        CliRunner()
        .invoke(cli, ["schedule", "plan", str(path), "--forecast", "perfect", "--z", "0", "--json"])
        .output
    )
    assert exact["saving_vs_run_now"]["planned_mg"] <= greedy["saving_vs_run_now"]["planned_mg"]
    result = CliRunner().invoke(
        cli,
        ["schedule", "plan", str(tmp_path / "unit.json"), "--method", "exact", "--region", "DE"],
    )
    assert result.exit_code == 0  # trailer/urgent in DE; thumbs (GB only) reported infeasible
    assert "infeasible thumbs" in result.output
    bad = CliRunner().invoke(cli, ["schedule", "plan", str(jobs_file), "--method", "exact"])
    assert bad.exit_code == 2 and "single-hour, single-GPU" in bad.output


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("capacity", {"DE": -1}, "capacity['DE']"),
        ("capacity", {"DE": 1.5}, "capacity.DE"),
        ("pue_milli", {"DE": 900}, "pue_milli['DE']"),
        ("now", "yesterday", "now"),
    ],
)
def test_plan_bad_file_level_fields(tmp_path: Path, key: str, value: object, field: str) -> None:
    doc = json.loads(json.dumps(JOBS))
    doc[key] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(cli, ["schedule", "plan", str(path)])
    assert result.exit_code == 2
    assert field in result.output
