"""write_report on a real campaign: totals from the chain and receipts, links, CSV, and the
HTML opened in headless chromium (plots rendered, no console errors, screenshot not blank)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from tests.report.browser import run_chromium
from tests.verify.campaign import Campaign
from xcr_py.cli import cli
from xcr_py.errors import InputError
from xcr_py.report import CSV_COLUMNS, explorer_link, write_report
from xcr_py.units import required_removal_mg


@pytest.fixture(scope="module")
def report(report_campaign: Campaign, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    paths = write_report(report_campaign.root, report_campaign.config, out=out)
    assert [p.name for p in paths] == ["report.html", "report.json", "report.csv"]
    return out


def test_json_totals_add_up(report: Path, report_campaign: Campaign) -> None:
    doc = json.loads((report / "report.json").read_text())
    results = [r for rs in report_campaign.results.values() for r in rs]
    t = doc["totals"]
    assert t["assets"] == len(results) == 7 and t["verified"] == 7
    assert t["gross"] == {"value": sum(r.gross_mg or 0 for r in results), "unit": "mg CO2e",
                          "source": t["gross"]["source"], "method": "derived"}
    assert t["energy"]["value"] == sum(r.energy_mj or 0 for r in results)
    # 3 single retirements + 1 batch retirement, each at least ratio x its gross.
    assert len(doc["retirements"]) == 4
    removed = sum(r["removed"]["value"] for r in doc["retirements"]) * 1000
    assert t["removed"]["value"] == removed
    assert removed >= required_removal_mg(t["gross"]["value"], 10_000)
    assert t["gross"]["value"] > 0  # removals are beside the gross figure, never subtracted
    assert (t["measured_share"]["value"], t["estimated_share"]["value"]) == ("0.0000", "1.0000")
    batch = [r for r in doc["retirements"] if len(r["token_ids"]) == 1
             and int(r["token_ids"][0]) >> 255]
    assert len(batch) == 1 and batch[0]["method"] == "DIRECT_AIR_CAPTURE"
    names = {f["factor"] for f in doc["methodology"]}
    assert names == {"intensity", "pue", "embodied"}
    assert all(f["source"] and f["method"] for f in doc["methodology"])
    assert doc["intensity"]["zone"] == "DE" and doc["intensity"]["reference"]


def test_links_use_the_explorer_template(report: Path, report_campaign: Campaign) -> None:
    doc = json.loads((report / "report.json").read_text())
    dep = report_campaign.deployment
    for a in doc["assets"]:
        assert a["token_url"] == (f"http://localhost:4000/token/{dep.receipts}"
                                  f"?a={a['token_id']}")
    for r in doc["retirements"]:
        assert r["url"] == f"http://localhost:4000/token/{dep.credits}?a={r['credit_batch']}"
    assert explorer_link("https://x.test/tx/{tx_hash}", tx_hash=None) is None
    with pytest.raises(InputError, match="explorer_url"):
        explorer_link("https://x.test/{nope}")


def test_csv_has_one_row_per_asset(report: Path) -> None:
    doc = json.loads((report / "report.json").read_text())
    with (report / "report.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["asset_cid"] for r in rows] == [a["asset_cid"] for a in doc["assets"]]
    assert sum(int(r["gross_mg"]) for r in rows) == doc["totals"]["gross"]["value"]


def test_html_is_self_contained(report: Path) -> None:
    html = (report / "report.html").read_text()
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert "@import" not in html and "url(" not in html
    # The only URLs are the explorer links.
    for url in re.findall(r"https?://[^\"'<> ]+", html):
        assert url.startswith(("http://localhost:4000/token/", "http://www.w3.org/2000/svg"))
    assert html.count('<svg class="plot"') == 4
    assert "carbon neutral" not in html.lower()


def test_chromium_renders_plots_without_console_errors(report: Path, chromium: str,
                                                       artifacts: Path) -> None:
    page = report / "report.html"
    dom, console = run_chromium(chromium, page, dump_dom=True)
    assert console == []
    assert dom.count('class="plot"') == 4
    assert len(re.findall(r'<rect class="bar"', dom)) >= 7 + 1  # bars in the plots
    assert '<polyline class="line"' in dom and '<circle class="marker"' in dom
    shot = artifacts / "report.png"
    shot.unlink(missing_ok=True)
    _, console = run_chromium(chromium, page, screenshot=shot)
    assert console == []
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        colors = rgb.getcolors(maxcolors=1 << 20) or []
    non_white = sum(n for n, c in colors if c != (255, 255, 255))
    assert non_white > 0.02 * rgb.width * rgb.height  # not blank
    present = {c for _, c in colors}
    assert (0xb5, 0x47, 0x3a) in present and (0x2f, 0x7d, 0x4f) in present  # plot bar colours


def test_console_check_catches_a_script_error(tmp_path: Path, chromium: str) -> None:
    # The detector itself must be able to fail.
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>throw new Error('kaboom')</script></body></html>")
    _, console = run_chromium(chromium, page, dump_dom=True)
    assert any("Uncaught Error: kaboom" in line for line in console)


def test_bad_campaign_is_input_error_and_writes_nothing(report_campaign: Campaign,
                                                        tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "plain.txt").write_text("no label here")
    out = tmp_path / "out"
    with pytest.raises(InputError, match="CAMPAIGN"):
        write_report(empty, report_campaign.config, out=out)
    assert not out.exists()
    with pytest.raises(InputError, match="CAMPAIGN"):
        write_report(tmp_path / "missing", report_campaign.config, out=out)
    assert not out.exists()
    out.write_text("a file, not a folder")
    with pytest.raises(InputError, match="out"):
        write_report(report_campaign.root, report_campaign.config, out=out)
    assert out.read_text() == "a file, not a folder"


def test_cli_report(report_campaign: Campaign, tmp_path: Path) -> None:
    out = tmp_path / "cli-report"
    result = CliRunner().invoke(cli, ["report", str(report_campaign.root), "--config",
                                      str(report_campaign.config_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.html", "report.json"]
    assert "wrote" in result.output
    missing = CliRunner().invoke(cli, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "CAMPAIGN" in missing.output
