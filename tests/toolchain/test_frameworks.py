"""brownie and ape compile this repository offline and deploy + mint, each in its own venv.

brownie 1.22 and ape 0.8 pin web3 7, so each lives in a virtual environment made by
scripts/test.sh (.venv-brownie, .venv-ape), which also registers scripts/solc for py-solc-x as
~/.solcx/solc-v<version> and adds brownie's ``xcr-anvil`` development network. These tests run
the frameworks' own commands as subprocesses:

* brownie: ``brownie compile`` in place (build output in .build/brownie), then ``brownie test
  tests/brownie`` attached to an anvil started here (base fee 0: brownie's development networks
  send gas price 0).
* ape: ``ape compile`` and ``ape test tests/ape`` on ape's built-in eth-tester provider, in a
  scratch copy of the project, because ape-solidity unpacks dependencies into contracts/.cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from xcr_py.chain.nodes import start_anvil

REPO = Path(__file__).resolve().parents[2]
BROWNIE = REPO / ".venv-brownie" / "bin" / "brownie"
APE = REPO / ".venv-ape" / "bin" / "ape"
SOLC_VERSION = json.loads((REPO / "node_modules/solc/package.json").read_text())["version"]
SETUP_HINT = "run scripts/test.sh once: it creates the framework venvs and registers scripts/solc"


def _env(**extra: str) -> dict[str, str]:
    path = f"{REPO / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "NO_COLOR": "1", **extra}


def _run(args: list[str], cwd: Path, timeout: int = 300, **env: str) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{out[-4000:]}"
    return out


def test_solc_is_registered_for_py_solc_x() -> None:
    link = Path.home() / ".solcx" / f"solc-v{SOLC_VERSION}"
    assert link.resolve() == (REPO / "scripts" / "solc").resolve(), SETUP_HINT


@pytest.mark.slow
def test_brownie_compiles_and_mints_a_receipt() -> None:
    assert BROWNIE.is_file(), SETUP_HINT
    (REPO / ".build").mkdir(exist_ok=True)  # brownie creates .build/brownie but not its parent
    out = _run([str(BROWNIE), "compile"], REPO)
    assert "Project has been compiled" in out
    for name in ("RemovalCredits", "CarbonReceipt", "XcrController"):
        built = json.loads((REPO / ".build/brownie/contracts" / f"{name}.json").read_text())
        assert built["compiler"]["version"].startswith(SOLC_VERSION)
        assert built["compiler"]["evm_version"] == "shanghai"
        assert len(built["bytecode"]) > 1000
    node = start_anvil(extra_args=["--block-base-fee-per-gas", "0"])
    try:
        port = node.url.rsplit(":", 1)[1]
        _run([str(BROWNIE), "networks", "modify", "xcr-anvil", f"port={port}"], REPO)
        out = _run(
            [str(BROWNIE), "test", "tests/brownie", "--network", "xcr-anvil",
             "--confcutdir", "tests/brownie", "-o", "filterwarnings=default",
             "-p", "no:cacheprovider"],
            REPO,
        )  # fmt: skip
    finally:
        node.stop()
    assert "1 passed" in out and f"127.0.0.1:{port}" in out


@pytest.mark.slow
def test_ape_compiles_and_mints_a_receipt(tmp_path: Path) -> None:
    assert APE.is_file(), SETUP_HINT
    project = tmp_path / "xcr"
    (project / "tests").mkdir(parents=True)
    shutil.copytree(REPO / "contracts", project / "contracts")
    shutil.copytree(REPO / "tests" / "ape", project / "tests" / "ape")
    shutil.copy(REPO / "ape-config.yaml", project)
    (project / "node_modules").symlink_to(REPO / "node_modules")
    env = {
        "XCR_UNITS_PY": str(REPO / "xcr_py" / "units.py"),
        "APE_DATA_FOLDER": str(tmp_path / "ape-data"),
    }
    out = _run([str(APE), "compile"], project, **env)
    assert "compiled" in out
    for name in ("RemovalCredits", "CarbonReceipt", "XcrController"):
        assert f"contracts/{name}.sol" in out
    out = _run([str(APE), "test", "tests/ape", "-p", "no:cacheprovider"], project, **env)
    assert "1 passed" in out


def test_forge_builds_with_the_solc_program(tmp_path: Path) -> None:
    project = tmp_path / "xcr"
    shutil.copytree(REPO / "contracts", project / "contracts")
    (project / "node_modules").symlink_to(REPO / "node_modules")
    forge = REPO / "node_modules" / ".bin" / "forge"
    _run(
        [str(forge), "build", "--root", str(project), "--use", str(REPO / "scripts" / "solc"),
         "--contracts", "contracts", "--evm-version", "shanghai", "--optimize",
         "--optimizer-runs", "200", "--offline",
         "--remappings", "@openzeppelin/=node_modules/@openzeppelin/"],
        project,
    )  # fmt: skip
    built = json.loads((project / "out/CarbonReceipt.sol/CarbonReceipt.json").read_text())
    assert len(built["bytecode"]["object"]) > 1000
    assert json.loads(built["rawMetadata"])["compiler"]["version"].startswith(SOLC_VERSION)
