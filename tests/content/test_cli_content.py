"""``xcr cid`` and ``xcr store export-car/import-car``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from xcr_py.cli import cli
from xcr_py.content import file_cid
from xcr_py.content.local import LocalStore


def test_cid_prints_one_line_per_file(sample_files: dict[str, Path]) -> None:
    files = [sample_files["empty"], sample_files["chunk_plus_one"]]
    result = CliRunner().invoke(cli, ["cid", *map(str, files)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == [str(file_cid(f)) for f in files]


def test_cid_v0_json(sample_files: dict[str, Path]) -> None:
    path = sample_files["one_byte"]
    result = CliRunner().invoke(cli, ["cid", "--v0", "--json", str(path)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["cid"] == str(file_cid(path, cid_version=0)) and record["cid"].startswith("Qm")
    assert record["bytes"] == {"value": 1, "unit": "B", "method": "measured"}


def test_cid_missing_file_is_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["cid", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_export_import_car(tmp_path: Path, sample_files: dict[str, Path]) -> None:
    src = LocalStore(tmp_path / "src")
    cid = src.put_file(sample_files["one_mib"])
    car = tmp_path / "out" / "asset.car"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["store", "export-car", str(cid), str(car), "--store-dir", str(src.root)]
    )
    assert result.exit_code == 0, result.output
    assert car.is_file() and str(cid) in result.output
    dst = tmp_path / "dst"
    result = runner.invoke(cli, ["store", "import-car", str(car), "--store-dir", str(dst)])
    assert result.exit_code == 0, result.output
    assert f"pinned {cid}" in result.output
    assert LocalStore(dst).get(cid) == sample_files["one_mib"].read_bytes()


def test_export_unknown_cid_fails_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "x.car"
    result = CliRunner().invoke(
        cli,
        ["store", "export-car", str(file_cid(__file__)), str(out), "--store-dir", str(tmp_path)],
    )
    assert result.exit_code == 1 and "not pinned" in result.output
    assert not out.exists()


def test_export_bad_cid_is_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["store", "export-car", "not-a-cid", str(tmp_path / "x.car"), "--store-dir", str(tmp_path)],
    )
    assert result.exit_code == 2 and "cid" in result.output
