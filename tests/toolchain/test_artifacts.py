"""The committed contract artifacts are exactly what scripts/compile.py produces now."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from xcr_py.chain import artifacts

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "xcr_py" / "chain" / "artifacts"


def _load_compile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("xcr_compile", REPO / "scripts" / "compile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["xcr_compile"] = module
    spec.loader.exec_module(module)
    return module


compile_script = _load_compile()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recompile of contracts/ into a temporary directory."""
    out = tmp_path_factory.mktemp("artifacts")
    assert compile_script.main(["--out", str(out)]) == 0
    return out


def test_recompile_is_byte_identical_to_committed(fresh: Path) -> None:
    names = sorted(p.name for p in fresh.glob("*.json"))
    assert names == sorted(p.name for p in COMMITTED.glob("*.json"))
    for name in names:
        assert (fresh / name).read_bytes() == (COMMITTED / name).read_bytes(), name


def test_check_mode_detects_drift(fresh: Path, tmp_path: Path) -> None:
    assert compile_script.main(["--check", "--out", str(fresh)]) == 0
    files = {p.name: p.read_text() for p in fresh.glob("*.json")}
    some = next(n for n in files if n != "compiler.json")
    stale = tmp_path / "stale"
    stale.mkdir()
    for name, text in files.items():
        (stale / name).write_text(text)
    (stale / some).write_text(files[some].replace('"abi"', '"abj"', 1))
    (stale / "Removed.json").write_text("{}\n")
    assert compile_script.diff(files, stale) == sorted([some, "Removed.json"])
    assert compile_script.diff(files, fresh) == []


def test_every_contract_source_has_artifacts_and_settings_are_recorded() -> None:
    info = artifacts.compiler_info()
    assert info["settings"]["evmVersion"] == "shanghai"
    assert info["settings"]["optimizer"] == {"enabled": True, "runs": compile_script.OPTIMIZER_RUNS}
    assert info["settings"]["metadata"]["bytecodeHash"] == "ipfs"
    oz = json.loads((REPO / "node_modules/@openzeppelin/contracts/package.json").read_text())
    assert info["openzeppelinContracts"] == oz["version"]
    for unit in compile_script.source_units():
        assert unit in info["sourcesSha256"]
    for name in artifacts.available():
        art = artifacts.load(name)
        assert art["sourceName"].startswith("contracts/")
        meta = json.loads(art["metadata"])
        assert meta["settings"]["evmVersion"] == "shanghai"
        assert meta["settings"]["optimizer"] == {
            "enabled": True,
            "runs": compile_script.OPTIMIZER_RUNS,
        }
        if art["bytecode"] != "0x":
            # The CBOR metadata trailer (ipfs hash, solc version) is kept: 0x0033 ends it.
            assert art["deployedBytecode"].endswith("0033")


def test_failed_compile_leaves_artifacts_untouched(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "contracts").mkdir(parents=True)
    (repo / "contracts" / "Broken.sol").write_text("pragma solidity ^0.8.0; contract Broken {")
    out = tmp_path / "out"
    out.mkdir()
    (out / "Old.json").write_text("{}\n")
    assert compile_script.main(["--repo", str(repo), "--out", str(out)]) == 1
    assert [p.name for p in out.iterdir()] == ["Old.json"]
    assert (out / "Old.json").read_text() == "{}\n"


def test_load_unknown_contract_names_what_is_shipped() -> None:
    with pytest.raises(KeyError, match="shipped"):
        artifacts.load("NoSuchContract")


def test_hidden_tool_caches_under_contracts_are_not_sources(tmp_path: Path) -> None:
    (tmp_path / "contracts" / ".cache" / "dep").mkdir(parents=True)
    (tmp_path / "contracts" / "sub").mkdir()
    (tmp_path / "contracts" / "A.sol").write_text("")
    (tmp_path / "contracts" / "sub" / "B.sol").write_text("")
    (tmp_path / "contracts" / ".cache" / "dep" / "C.sol").write_text("")
    assert compile_script.source_units(tmp_path) == ["contracts/A.sol", "contracts/sub/B.sol"]
