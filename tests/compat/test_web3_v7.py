"""xcr_py must work on web3 7.x (the line brownie, ape and slither pin) as well as on web3 8.

``scripts/test.sh`` builds ``.venv-web3v7`` with web3 7 and this package; here the embedded-chain
contract suite and the demo run inside it, as a subprocess, so one pytest session covers both.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO / ".venv-web3v7" / "bin" / "python"


def _web3_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import web3; print(web3.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_main_environment_runs_web3_8() -> None:
    assert _web3_version(Path(sys.executable)).startswith("8.")


def test_chain_and_demo_suites_pass_on_web3_7() -> None:
    assert VENV_PYTHON.exists(), "scripts/test.sh creates .venv-web3v7; run it first"
    assert _web3_version(VENV_PYTHON).startswith("7.")
    run = subprocess.run(
        [
            str(VENV_PYTHON),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/chain",
            "tests/demo/test_campaign.py",
            "-k",
            "not anvil and not ganache",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    assert " passed" in run.stdout and " failed" not in run.stdout, tail
