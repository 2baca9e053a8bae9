"""The main job end to end: `xcr demo` on the persistent embedded chain and a LocalStore."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xcr_py.chain.embedded import EmbeddedChain
from xcr_py.chain.gateway import XcrGateway
from xcr_py.cli import cli
from xcr_py.config import load_config
from xcr_py.content.cid import bytes_cid
from xcr_py.content.local import LocalStore
from xcr_py.demo.campaign import DemoResult, removal_method, run_demo
from xcr_py.embed import extract
from xcr_py.errors import InputError
from xcr_py.receipt import parse_receipt
from xcr_py.units import required_removal_mg


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(
        tmp_path_factory.mktemp("demo") / "out", assets=5, size=64, steps=2, batch_size=3
    )


def test_every_asset_is_labelled_with_its_settled_receipt(demo: DemoResult) -> None:
    assert len(demo.assets) == 5
    store = LocalStore(demo.out_dir / "store")
    for asset in demo.assets:
        label, original = extract(asset.path.read_bytes())
        assert str(bytes_cid(original)) == asset.result.asset_cid
        assert label.receipt_cid == asset.result.receipt_cid
        assert label.token_id == asset.result.token_id
        receipt = parse_receipt(store.get(label.receipt_cid))
        assert receipt.asset.cid == asset.result.asset_cid
        assert asset.result.state == "confirmed"


def test_batches_settle_and_removal_covers_gross(demo: DemoResult) -> None:
    tokens = {a.result.token_id for a in demo.assets}
    assert len(tokens) == 2  # 5 assets in batches of 3
    # The chain outlives the process that wrote it: reopen it from its journal.
    with EmbeddedChain(demo.out_dir / "chain") as chain:
        gateway = XcrGateway(chain.w3, demo.deployment, chain.dev_private_keys()[0])
        for token in tokens:
            receipt = gateway.receipt(int(token or 0))
            members = [a for a in demo.assets if a.result.token_id == token]
            gross = sum(int(a.result.gross_mg or 0) for a in members)
            assert receipt.gross_mg == gross
            assert receipt.removed_mg >= required_removal_mg(gross, 10_000)
            assert sum(a.removed_mg for a in members) <= receipt.removed_mg


def test_avoidance_is_refused_by_python_and_contract(demo: DemoResult) -> None:
    assert [r.split(":")[0] for r in demo.refusals] == ["python", "contract"]
    assert "RemovalCredits" in demo.refusals[1]
    assert {c.method for c in demo.credits} == {"direct air capture", "biochar"}
    with pytest.raises(InputError, match=r"credit\.method"):
        removal_method("forest conservation")


def test_output_folder_is_self_describing(demo: DemoResult) -> None:
    config = load_config(demo.out_dir / "xcr.toml", env={})
    assert config.chain.backend == "embedded"
    assert Path(config.chain.data_dir) == demo.out_dir / "chain"
    assert config.store.backend == "local"
    # Every pinned DAG was exported and imports into a fresh store.
    fresh = LocalStore(demo.out_dir / "fresh-store")
    for car in demo.car_files:
        fresh.import_car(car)
    assert fresh.pins() >= LocalStore(demo.out_dir / "store").pins()


def test_rerun_replaces_only_demo_output(tmp_path: Path) -> None:
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="out"):
        run_demo(foreign, assets=1, size=16, steps=1)
    assert (foreign / "keep.txt").read_text() == "mine"


def test_cli_demo_prints_table_and_totals(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--out", str(tmp_path / "o"), "--assets", "2", "--batch-size", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "per-asset receipts" in result.output
    assert "ESTIMATED" in result.output or "measured" in result.output
    assert "refused avoidance batch" in result.output
