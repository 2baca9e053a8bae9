"""Per-model / per-settings figures and the what-if arithmetic on a hand-built campaign."""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.insights.campaign import campaign, receipt
from xcr_py.cli import cli
from xcr_py.errors import InputError
from xcr_py.insights import LABEL, DistilledRatio, campaign_insights
from xcr_py.oracle.outbox import Outbox
from xcr_py.receipt import receipt_bytes, receipt_cid


def test_gross_is_what_the_campaign_says() -> None:
    receipts, _ = campaign()
    assert [r.emissions.gross_mg for r in receipts] == [100, 120, 80, 20, 30, 40, 1047]


def test_by_model_and_by_settings() -> None:
    receipts, params = campaign()
    ins = campaign_insights(receipts, params)
    assert ins.assets == 7 and ins.campaign == "spring"
    assert ins.energy_mj == 14_365_200 and ins.gross_mg == 1437
    assert ins.estimated_energy_mj == ins.benchmark_energy_mj == 10_465_200
    by_model = {g.key: g for g in ins.by_model}
    sdxl = by_model[("sdxl",)]
    assert (sdxl.assets, sdxl.energy_mj, sdxl.gross_mg) == (4, 3_400_000, 340)
    assert sdxl.energy_j_per_asset == 850 and sdxl.gross_g_per_asset == Fraction(85, 1000)
    assert by_model[("acme-cloud",)].estimated_assets == 1
    by_settings = {g.key: g for g in ins.by_settings}
    assert by_settings[("sdxl", "1024x1024, 30 steps")].energy_j_per_asset == 1000
    assert by_settings[("sdxl", "512x512, 30 steps")].energy_j_per_asset == 400
    assert by_settings[("sdxl-turbo", "1024x1024, 4 steps")].energy_j_per_asset == 250
    assert by_settings[("acme-cloud", "1024x1024")].assets == 1
    doc = ins.to_dict()
    assert doc["energy_share"]["estimated (published benchmark)"] == pytest.approx(
        10465.2 / 14365.2)
    assert doc["by_model"][0]["energy_per_asset"] == {
        "value": 10465.2, "unit": "J", "source": "campaign receipts", "method": "estimated"}
    assert doc["by_model"][1]["gross"]["method"] == "measured"


def test_best_model_projection_arithmetic() -> None:
    receipts, params = campaign()
    best = campaign_insights(receipts, params).projections[0]
    assert best.kind == "best-model" and best.label == LABEL
    assert "projection" in best.label and "not a reduction achieved" in best.label
    # 1024x1024 cohort: sdxl (mean 1000 J), turbo (250 J), acme (10465.2 J) -> turbo.
    # The 512x512 cohort has one model: nothing changes there.
    assert best.assets_changed == 4
    assert best.actual_energy_j == Fraction("14365.2")
    assert best.projected_energy_j == 3 * 250 + 500 + 400 + 250
    assert best.saving_energy_j == Fraction("12465.2")
    # Each asset keeps its own grams per joule: sdxl assets 0.1 mg/J -> 25 mg each; the
    # cloud asset 1047 mg x 250 J / 10465.2 J.
    cloud_g = Fraction(1047 * 250_000, 10_465_200) / 1000
    assert best.projected_gross_g == Fraction(75 + 50 + 40, 1000) + cloud_g
    assert best.saving_gross_g == Fraction(1437, 1000) - best.projected_gross_g
    assert best.saving_fraction == Fraction("12465.2") / Fraction("14365.2")
    cohorts = {(d["task"], d["output_size"]): d["best_model"] for d in best.details}
    assert cohorts == {("image", "1024x1024"): "sdxl-turbo", ("image", "512x512"): "sdxl"}


def test_distilled_projection_arithmetic() -> None:
    receipts, params = campaign()
    ratio = DistilledRatio("sdxl", "sdxl-turbo", "0.3", "A/B on our A100 (test)")
    ins = campaign_insights(receipts, params, distilled=[ratio])
    proj = ins.projections[1]
    assert proj.kind == "distilled" and proj.assets_changed == 4
    # sdxl: 3400 J -> 1020 J, 340 mg -> 102 mg; the rest unchanged.
    assert proj.saving_energy_j == 3400 - 1020
    assert proj.projected_energy_j == Fraction("14365.2") - 2380
    assert proj.saving_gross_g == Fraction(238, 1000)
    doc = proj.to_dict()
    assert doc["label"] == LABEL
    assert doc["projected_energy_saving"] == {"value": 2380.0, "unit": "J",
                                              "method": "projection"}
    assert "A/B on our A100" in doc["description"]


def test_without_params_assets_compare_in_one_unknown_size_cohort() -> None:
    receipts, _ = campaign()
    best = campaign_insights(receipts).projections[0]
    assert {d["output_size"] for d in best.details} == {"unknown"}
    assert best.assets_changed == 5  # everything but the two turbo assets


@pytest.mark.parametrize(("args", "field"), [
    (("sdxl", "t", 0, "x"), "distilled.ratio"),
    (("sdxl", "t", 1.5, "x"), "distilled.ratio"),
    (("sdxl", "t", 0.3, " "), "distilled.source"),
])
def test_bad_distilled_ratio(args: tuple, field: str) -> None:
    with pytest.raises(InputError, match=rf"^{field}:"):
        DistilledRatio(*args)


def test_bad_receipt_sets() -> None:
    receipts, _ = campaign()
    with pytest.raises(InputError, match=r"^receipts: must hold"):
        campaign_insights([])
    with pytest.raises(InputError, match=r"^receipts\.1\.asset\.cid: .* appears twice"):
        campaign_insights([receipts[0], receipts[0]])
    other = receipt("x", "sdxl", 10.0, False, campaign="autumn")
    with pytest.raises(InputError, match="one campaign"):
        campaign_insights([receipts[0], other])


def _outbox(tmp_path: Path) -> Path:
    receipts, params = campaign()
    path = tmp_path / "outbox.sqlite"
    with Outbox(path) as box:
        entries = []
        for r in receipts:
            data = receipt_bytes(r)
            entries.append({"asset_digest": hashlib.sha256(r.asset.cid.encode()).digest(),
                            "asset_cid": r.asset.cid, "receipt_cid": str(receipt_cid(data)),
                            "receipt_digest": hashlib.sha256(data).digest(),
                            "receipt_bytes": data,
                            "payload": {"campaign": "spring", "model": r.asset.model,
                                        "params": params[r.asset.cid]}})
        box.enqueue_pinned_many(entries)
        box.enqueue(b"\x01" * 32, {"campaign": "spring"})  # tracked, no receipt yet
    return path


def test_cli_reads_the_outbox(tmp_path: Path) -> None:
    path = _outbox(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["insights", "spring", "--outbox", str(path), "--json",
                                 "--distilled", "sdxl=sdxl-turbo@0.3",
                                 "--ratio-source", "A/B on our A100 (test)"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["assets"] == 7 and doc["assets_without_receipt"] == 1
    assert doc["gross"] == {"value": 1.437, "unit": "gCO2e",
                            "source": "campaign receipts (emissions.gross_mg)"}
    assert [p["kind"] for p in doc["projections"]] == ["best-model", "distilled"]
    assert doc["projections"][1]["projected_energy_saving"]["value"] == 2380.0
    assert all(p["label"] == LABEL for p in doc["projections"])
    result = runner.invoke(cli, ["insights", "spring", "--outbox", str(path)])
    assert result.exit_code == 0, result.output
    assert "projections, not reductions achieved" in result.output
    assert "sdxl-turbo" in result.output and "1024x1024, 30 steps" in result.output


def test_cli_errors(tmp_path: Path) -> None:
    path = _outbox(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["insights", "autumn", "--outbox", str(path)])
    assert result.exit_code == 2 and "campaign: no tracked asset" in result.output
    result = runner.invoke(cli, ["insights", "spring", "--outbox", str(tmp_path / "no.db")])
    assert result.exit_code == 2 and "outbox: no outbox at" in result.output
    result = runner.invoke(cli, ["insights", "spring", "--outbox", str(path),
                                 "--distilled", "sdxl=sdxl-turbo@0.3"])
    assert result.exit_code == 2 and "--ratio-source: is required" in result.output
    result = runner.invoke(cli, ["insights", "spring", "--outbox", str(path),
                                 "--distilled", "sdxl-turbo", "--ratio-source", "x"])
    assert result.exit_code == 2 and "MODEL=DISTILLED@RATIO" in result.output
