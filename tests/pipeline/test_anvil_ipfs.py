"""End-to-end on real parts: anvil (JSON-RPC) and a js-ipfs daemon (Kubo RPC API)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.client.helpers import System, asset_bytes, estimate_meter, fast_outbox, make_config
from xcr_py.chain import BATCH_BIT, asset_token_id
from xcr_py.client import Tracker
from xcr_py.content.kubo import KuboStore
from xcr_py.oracle.eip712 import Leaf
from xcr_py.receipt import parse_receipt


@pytest.mark.parametrize("mode", ["single", "batch"])
def test_track_and_settle_on_anvil_with_js_ipfs(mode: str, anvil_system: System, ipfs_api: str,
                                                tmp_path: Path) -> None:
    store = KuboStore(ipfs_api)
    config = make_config(tmp_path, **{"mode.kind": mode, "mode.batch_size": 3,
                                      "mode.max_delay_s": 3600,
                                      "store.backend": "kubo", "store.kubo_url": ipfs_api})
    offset = 1000 if mode == "single" else 2000
    with Tracker(config, meter=estimate_meter(), store=store, gateway=anvil_system.gateway(),
                 quorum=anvil_system.quorum(), outbox=fast_outbox(tmp_path / "ob.sqlite"),
                 env={}) as tracker:
        with tracker.track_batch(weights=[1, 1], model="m", campaign="anvil") as b:
            b.set_assets([asset_bytes(offset), asset_bytes(offset + 1)])

        @tracker.tracked(model="m", campaign="anvil")
        def render(i: int) -> bytes:
            return asset_bytes(i)

        for i in range(2, 5):
            render(offset + i)
        results = tracker.flush(120)
        pins = {str(c) for c in store.pins()}
        assert [r.state for r in results] == ["confirmed"] * 5
        for result in results:
            assert result.asset_cid in pins and result.receipt_cid in pins
            data = store.get(result.receipt_cid)
            receipt = parse_receipt(data, canonical=True)
            assert receipt.removal.credit.chain_id == anvil_system.deployment.chain_id
            digest = bytes.fromhex(result.asset_digest or "")
            if mode == "single":
                assert result.token_id == asset_token_id(digest)
                record = tracker.gateway.receipt(result.token_id)
                assert record.receipt_digest == hashlib.sha256(data).digest()
            else:
                assert result.token_id is not None and result.token_id & BATCH_BIT
                item = tracker.outbox.get(digest)
                leaf = Leaf(digest, item.receipt_digest or b"", tracker.creator,
                            item.payload["energy_mj"], item.payload["gross_mg"])
                assert tracker.gateway.verify_asset(result.token_id, leaf, list(item.proof))
        if mode == "batch":
            assert len({r.token_id for r in results}) == 2  # one full batch of 3, one of 2
    store.close()
