"""Audit of declared render stacks: classification, shares, advice, bad inventories, CLI."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from xcr_py.audit import audit_pipeline, load_pipeline
from xcr_py.cli import cli
from xcr_py.errors import InputError

MIXED = """
[pipeline]
name = "mixed"

[[stages]]
name = "hero"
kind = "self-hosted"
model = "sdxl"
requests_per_day = 1000
seconds_per_request = 4.5
params = { width = 1024, height = 1024, steps = 30 }
gpu = { device = "A100", count = 2, energy_counter = true, power_w = 400 }

[[stages]]
name = "legacy"
kind = "self-hosted"
model = "sd-1.5"
requests_per_day = 500
expected_wh_per_request = 0.3
gpu = { device = "P100", count = 1, energy_counter = false }

[[stages]]
name = "concepts"
kind = "cloud"
provider = "acme"
model = "acme-image-3"
task = "image-generation"
requests_per_day = 100
"""


def _write(tmp_path: Path, text: str, name: str = "pipeline.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_mixed_stack_classification_and_shares(tmp_path: Path) -> None:
    report = audit_pipeline(load_pipeline(_write(tmp_path, MIXED)))
    hero, legacy, concepts = report.stages
    assert hero.accounting == "measured (NVML energy counter)" and hero.advice == ()
    assert legacy.accounting == "measured (NVML power sampling)"
    assert "Volta" in legacy.advice[0]
    assert concepts.accounting == "estimated (published benchmark)"
    # Expected energy per day: 400 W x 2 x 4.5 s = 1 Wh x 1000 = 1 kWh; 0.3 Wh x 500 =
    # 0.15 kWh; 2.907 Wh (table) x 100 = 0.2907 kWh.
    assert hero.energy_per_day_kwh == Decimal(1)
    assert legacy.energy_per_day_kwh == Decimal("0.15")
    assert concepts.energy_per_day_kwh == Decimal("0.2907")
    assert report.total_kwh_per_day == Decimal("1.4407")
    assert report.shares["measured"] == Decimal("1.15") / Decimal("1.4407")
    assert report.shares["estimated"] == Decimal("0.2907") / Decimal("1.4407")
    assert report.shares["not covered"] == 0
    assert sum(report.shares.values()) == pytest.approx(1)
    assert hero.energy_per_request is not None and hero.energy_per_request.method == "declared"
    e = concepts.energy_per_request
    assert e is not None and e.method == "estimated" and e.unit == "Wh"
    assert (e.value, e.low, e.high) == (Decimal("2.907"), Decimal("0.1868"), Decimal("11.49"))
    assert "Power Hungry Processing" in e.source


CPU_AND_UNCOVERED = """
[pipeline]
name = "cpu"

[[stages]]
name = "resize"
kind = "cpu"
model = "pillow"
requests_per_day = 100
rapl = true
expected_wh_per_request = 0.01

[[stages]]
name = "upscale"
kind = "cpu"
model = "esrgan"
requests_per_day = 100
rapl = false
power_w = 72
seconds_per_request = 10

[[stages]]
name = "caption"
kind = "cpu"
model = "blip"
requests_per_day = 100
rapl = false

[[stages]]
name = "video"
kind = "cloud"
provider = "acme"
model = "acme-video"
task = "video-generation"
requests_per_day = 10
expected_wh_per_request = 100
"""


def test_cpu_and_not_covered_stages(tmp_path: Path) -> None:
    report = audit_pipeline(load_pipeline(_write(tmp_path, CPU_AND_UNCOVERED)))
    resize, upscale, caption, video = report.stages
    assert resize.accounting == "measured (RAPL)"
    assert upscale.accounting == "estimated (declared power x time)"
    assert upscale.energy_per_request is not None
    assert upscale.energy_per_request.value == Decimal("0.2")  # 72 W x 10 s
    assert caption.accounting == "not covered" and caption.energy_per_day_kwh is None
    assert video.accounting == "not covered"
    assert any("cloud table" in a for a in video.advice)
    # Shares over quantified stages: 0.001 + 0.02 + 1.0 kWh/day; caption is unquantified.
    assert report.unquantified == ("caption",)
    total = Decimal("1.021")
    assert report.total_kwh_per_day == total
    assert report.shares == {"measured": Decimal("0.001") / total,
                             "estimated": Decimal("0.02") / total,
                             "not covered": Decimal(1) / total}


VALID_STAGE = """
[pipeline]
name = "p"

[[stages]]
name = "a"
kind = "self-hosted"
model = "m"
requests_per_day = 10
gpu = { device = "A100", count = 1, energy_counter = true }
"""


@pytest.mark.parametrize(("old", "new", "message"), [
    ("count = 1, ", "", "stages.0.gpu.count: is required"),
    ("model = \"m\"", "model = \"m\"\ncolour = \"red\"", "stages.0.colour: is not a known field"),
    ("kind = \"self-hosted\"\n", "", "stages.0.kind: is required"),
    ("kind = \"self-hosted\"", "kind = \"edge\"", "stages.0.kind: must be one of"),
    ("device = \"A100\"", "device = \"Tesla P100\"",
     "stages.0.gpu.energy_counter: 'Tesla P100' is older than Volta"),
    ("requests_per_day = 10", "requests_per_day = -5",
     "stages.0.requests_per_day: Input should be greater than 0"),
    ("[pipeline]\nname = \"p\"", "[pipeline]\nname = \"p\"\nowner = \"x\"",
     "pipeline.owner: is not a known field"),
    ("[pipeline]\nname = \"p\"", "[pipline]\nname = \"p\"", "pipeline: is required"),
    ("energy_counter = true", "energy_counter = true, tdp = 1",
     "stages.0.gpu.tdp: is not a known field"),
])
def test_bad_inventory_names_the_field(tmp_path: Path, old: str, new: str,
                                       message: str) -> None:
    assert old in VALID_STAGE
    path = _write(tmp_path, VALID_STAGE.replace(old, new, 1))
    with pytest.raises(InputError) as info:
        load_pipeline(path)
    assert str(info.value).startswith(message), str(info.value)
    assert str(path) in str(info.value)


def test_duplicate_stage_names_and_empty_stages(tmp_path: Path) -> None:
    body = VALID_STAGE.split("[[stages]]")[1]
    with pytest.raises(InputError, match=r"^stages\.1\.name: 'a' is used twice"):
        load_pipeline(_write(tmp_path, VALID_STAGE + "[[stages]]" + body))
    with pytest.raises(InputError, match=r"^stages: is required"):
        load_pipeline(_write(tmp_path, "[pipeline]\nname = \"p\"\n"))


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_pipeline(tmp_path / "missing.toml")
    with pytest.raises(InputError, match="is not valid TOML"):
        load_pipeline(_write(tmp_path, "[pipeline\nname="))


def test_cli_json_and_rich(tmp_path: Path) -> None:
    path = _write(tmp_path, MIXED)
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", str(path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [s["accounting"] for s in doc["stages"]] == [
        "measured (NVML energy counter)", "measured (NVML power sampling)",
        "estimated (published benchmark)"]
    assert doc["shares"]["measured"] == pytest.approx(1.15 / 1.4407)
    assert doc["stages"][2]["energy_per_request"]["unit"] == "Wh"
    assert doc["expected_energy"] == {"value": 1.4407, "unit": "kWh/day", "method": "estimated",
                                      "source": "declared inventory (see docs/audit.md)"}
    result = runner.invoke(cli, ["audit", str(path)])
    assert result.exit_code == 0, result.output
    assert "measured (NVML power sampling)" in result.output
    assert "79.8 %" in result.output and "20.2 %" in result.output


def test_cli_bad_file_exit_code(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_STAGE.replace("count = 1, ", ""))
    result = CliRunner().invoke(cli, ["audit", str(path)])
    assert result.exit_code == 2
    assert "stages.0.gpu.count: is required" in result.output


def test_docs_example_inventory_is_valid(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "audit.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    report = audit_pipeline(load_pipeline(_write(tmp_path, example)))
    assert [s.accounting for s in report.stages] == [
        "measured (NVML energy counter)", "measured (NVML power sampling)",
        "estimated (declared power x time)", "estimated (published benchmark)"]
    assert report.unquantified == ()
    assert report.total_kwh_per_day == Decimal("1.6407")
    assert report.shares["measured"] == Decimal("1.15") / Decimal("1.6407")
    assert f"{float(report.shares['measured']) * 100:.1f} %" in doc
    assert f"{float(report.shares['estimated']) * 100:.1f} %" in doc
