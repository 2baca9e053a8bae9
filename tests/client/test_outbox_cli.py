"""``xcr outbox status``: counts, the oldest pending asset, and a clear error without an outbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xcr_py.cli import cli
from xcr_py.client.wiring import OUTBOX_FILE
from xcr_py.oracle.outbox import Outbox


@pytest.fixture
def outbox_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "xcr.toml").write_text('[chain]\ndata_dir = "data"\n')
    with Outbox(data / OUTBOX_FILE) as box:
        box.enqueue(b"\x01" * 32, {"key": "first", "asset_cid": "bafkfirst"}, now=1000.0)
        box.enqueue(b"\x02" * 32, {"key": "second"}, now=2000.0)
        box.enqueue(b"\x03" * 32, {"key": "done"}, now=500.0)
        box.fail(b"\x03" * 32, error_name="XcrControllerPaused")
    return tmp_path


def test_status_json_counts_and_oldest(outbox_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(outbox_dir)
    result = CliRunner().invoke(cli, ["outbox", "status", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["counts"]["pending"] == 2 and doc["counts"]["failed"] == 1
    assert doc["active"] == 2
    oldest = doc["oldest_pending"]
    assert oldest["key"] == "first" and oldest["asset_digest"] == "01" * 32
    assert oldest["age"]["unit"] == "s" and oldest["age"]["value"] > 0


def test_status_table_with_config_flag(outbox_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["outbox", "status", "--config",
                                      str(outbox_dir / "xcr.toml")])
    assert result.exit_code == 0, result.output
    assert "pending" in result.output and "oldest pending: bafkfirst" in result.output


def test_status_without_outbox_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["outbox", "status", "--outbox",
                                      str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2
    assert "outbox: no outbox at" in result.output
    assert not (tmp_path / "none.sqlite").exists()
