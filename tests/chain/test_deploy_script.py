"""scripts/deploy.py on a real anvil writes deployments/<chain-id>.json with code behind it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from web3 import HTTPProvider, Web3

from xcr_py.chain import Deployment, XcrGateway
from xcr_py.chain.nodes import LocalNode

REPO = Path(__file__).resolve().parents[2]


def _deploy(
    tmp_path: Path, url: str, env_extra: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "deploy.py"),
            "--rpc",
            url,
            "--key-env",
            "XCR_TEST_KEY",
            "--out",
            str(tmp_path),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )


def test_deploy_writes_addresses_hashes_and_metadata(tmp_path: Path, anvil_node: LocalNode) -> None:
    key = anvil_node.private_keys[0]
    result = _deploy(tmp_path, anvil_node.url, {"XCR_TEST_KEY": key}, "--threshold", "1")
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / f"{anvil_node.chain_id}.json").read_text())
    w3 = Web3(HTTPProvider(anvil_node.url))
    for name in ("credits", "receipts", "controller"):
        assert len(w3.eth.get_code(document[name])) > 100
    assert set(document["tx_hashes"]) >= {"RemovalCredits", "CarbonReceipt", "XcrController"}
    for tx_hash in document["tx_hashes"].values():
        assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 1
    assert document["compiler_metadata"]["compiler"]["settings"]["evmVersion"] == "shanghai"
    assert "XcrController" in document["compiler_metadata"]["contracts"]
    assert key.removeprefix("0x") not in json.dumps(document) + result.stdout + result.stderr
    for name in ("credits", "receipts", "controller"):  # Sourcify material, checked against code
        folder = tmp_path / str(anvil_node.chain_id) / document[name]
        metadata = json.loads((folder / "metadata.json").read_text())
        assert metadata["settings"]["evmVersion"] == "shanghai"
    deployment = Deployment.load(tmp_path / f"{anvil_node.chain_id}.json")
    assert XcrGateway(w3, deployment, key).policy() == (10_000, 100, 1)


def test_missing_key_env_is_an_input_error(tmp_path: Path) -> None:
    result = _deploy(tmp_path, "embedded", {"XCR_TEST_KEY": ""})
    assert result.returncode == 2
    assert "--key-env" in result.stderr and "XCR_TEST_KEY" in result.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_bad_policy_is_refused_before_any_transaction(tmp_path: Path) -> None:
    result = _deploy(
        tmp_path, "embedded", {"XCR_TEST_KEY": "0x" + "11" * 32}, "--ratio-bps", "9999"
    )
    assert result.returncode == 2
    assert "ratio_bps" in result.stderr and "10000" in result.stderr
    assert not list(tmp_path.iterdir())
