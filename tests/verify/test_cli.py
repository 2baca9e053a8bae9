"""``xcr verify FILE [--config] [--json]``: exit codes, the failing step named, JSON shape."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from tests.verify.campaign import Campaign
from xcr_py.cli import cli
from xcr_py.embed.files import read_label, write_label


def test_verify_json_passes(campaign: Campaign) -> None:
    result = CliRunner().invoke(cli, ["verify", str(campaign.files["batch"][0]), "--config",
                                      str(campaign.config_file), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["mode"] == "batch" and doc["failed_step"] is None
    assert doc["steps"][-1]["name"] == "batch_totals"
    assert all(n["unit"] and n["method"] for s in doc["steps"] for n in s["numbers"])


def test_verify_finds_the_config_above_the_file_and_prints_steps(campaign: Campaign) -> None:
    # No --config: the nearest xcr.toml above the file (the campaign folder) is used.
    result = CliRunner().invoke(cli, ["verify", str(campaign.files["single"][0])])
    assert result.exit_code == 0, result.output
    assert "retirement" in result.output and "verified" in result.output


def test_verify_exits_1_naming_the_failing_step(campaign: Campaign, tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    shutil.copyfile(campaign.files["single"][0], path)
    label = read_label(path).label
    write_label(path, replace(label, token_id=label.token_id + 1), replace=True)
    result = CliRunner().invoke(cli, ["verify", str(path), "--config",
                                      str(campaign.config_file)])
    assert result.exit_code == 1
    assert "verification failed at step 'token'" in " ".join(result.output.split())
    result = CliRunner().invoke(cli, ["verify", str(path), "--config",
                                      str(campaign.config_file), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["failed_step"] == "token"


def test_verify_missing_file_is_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "nope.png")])
    assert result.exit_code == 2
    assert "FILE" in result.output


def test_verify_with_a_missing_store_creates_nothing(campaign: Campaign, tmp_path: Path) -> None:
    config = tmp_path / "xcr.toml"
    config.write_text(campaign.config_file.read_text().replace('path = "store"',
                                                               f'path = "{tmp_path / "nope"}"'))
    (tmp_path / "deployment.json").write_text((campaign.root / "deployment.json").read_text())
    result = CliRunner().invoke(cli, ["verify", str(campaign.files["single"][0]),
                                      "--config", str(config)])
    assert result.exit_code == 1 and "store.path" in result.output
    assert not (tmp_path / "nope").exists()
