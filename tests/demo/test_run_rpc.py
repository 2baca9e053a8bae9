"""`xcr run`: the demo campaign against real nodes (anvil, ganache) and the js-ipfs daemon."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from xcr_py.chain.connect import connect
from xcr_py.chain.gateway import XcrGateway
from xcr_py.chain.nodes import LocalNode
from xcr_py.cli import cli
from xcr_py.config import load_config
from xcr_py.content.cid import bytes_cid
from xcr_py.content.kubo import KuboStore
from xcr_py.demo.campaign import run_rpc
from xcr_py.embed import extract
from xcr_py.receipt import parse_receipt


def _check_settled(out: Path, node: LocalNode, ipfs_api: str, expected_assets: int) -> set[int]:
    config = load_config(out / "xcr.toml", env={})
    assert config.chain.rpc_url == node.url
    images = sorted((out / "assets").glob("*.png"))
    assert len(images) == expected_assets
    store = KuboStore(ipfs_api)
    gateway = XcrGateway(connect(node.url), _deployment(out), node.private_keys[0])
    tokens = set()
    try:
        for image in images:
            label, original = extract(image.read_bytes())
            receipt = parse_receipt(store.get(label.receipt_cid))
            assert receipt.asset.cid == str(bytes_cid(original))
            assert store.has(receipt.asset.cid)
            assert gateway.receipt_exists(label.token_id)
            tokens.add(label.token_id)
    finally:
        store.close()
    return tokens


def _deployment(out: Path):  # type: ignore[no-untyped-def]
    from xcr_py.chain.deployment import Deployment

    return Deployment.load(out / "deployment.json")


def test_cli_run_single_mode_on_anvil(anvil_node: LocalNode, ipfs_api: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {
        "XCR_DEPLOYER_KEY": anvil_node.private_keys[0],
        "XCR_ORACLE_KEY": anvil_node.private_keys[1],
    }
    result = CliRunner(env=env).invoke(
        cli,
        [
            "run",
            "--rpc",
            anvil_node.url,
            "--ipfs",
            ipfs_api,
            "--out",
            str(out),
            "--mode",
            "single",
            "--assets",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    tokens = _check_settled(out, anvil_node, ipfs_api, 3)
    assert len(tokens) == 3  # one receipt token per asset in single mode


def test_run_batch_mode_on_ganache(ganache_node: LocalNode, ipfs_api: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_rpc(
        out,
        rpc_url=ganache_node.url,
        ipfs_addr=ipfs_api,
        deployer_key=ganache_node.private_keys[0],
        oracle_key=ganache_node.private_keys[1],
        assets=4,
        batch_size=4,
        size=32,
        steps=1,
    )
    assert len(result.assets) == 4
    assert result.car_files == []
    tokens = _check_settled(out, ganache_node, ipfs_api, 4)
    assert len(tokens) == 1  # one batch receipt


def test_cli_run_names_missing_key_variable(
    anvil_node: LocalNode, ipfs_api: str, tmp_path: Path
) -> None:
    result = CliRunner(env={"XCR_DEPLOYER_KEY": "", "XCR_ORACLE_KEY": ""}).invoke(
        cli, ["run", "--rpc", anvil_node.url, "--ipfs", ipfs_api, "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "XCR_DEPLOYER_KEY" in result.output
    assert not (tmp_path / "o").exists()
