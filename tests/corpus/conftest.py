"""The world the bad-input corpus attacks: a chain, a block store and an outbox with history.

One module-wide anvil of its own (nobody else moves its state), two deployments (threshold 1
and threshold 2), a settled report to replay, a settled batch, a local block store with pins
and an outbox with confirmed rows. :meth:`World.snapshot` reads everything a bad input could
change; every case compares it before and after.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.chain.helpers import Env, batch_report, leaves, make_env, signed, single_report
from tests.client.helpers import asset_bytes, estimate_meter, make_config
from xcr_py.chain import connect
from xcr_py.chain.nodes import LocalNode, start_anvil
from xcr_py.client import Tracker
from xcr_py.content.local import LocalStore
from xcr_py.oracle.eip712 import Leaf, MerkleTree, MeteringReport
from xcr_py.oracle.keys import OracleQuorum, OracleSigner
from xcr_py.oracle.outbox import Outbox, RetryPolicy


@dataclass
class World:
    node: LocalNode
    env: Env  # threshold 1
    env2: Env  # threshold 2 (k-of-n)
    store: LocalStore
    outbox: Outbox
    tracker: Tracker
    tmp: Path
    settled: MeteringReport  # already on chain: replaying it must fail
    settled_sigs: list[bytes]
    batch_token: int
    batch_leaf: Leaf
    batch_proof: list[bytes]

    def snapshot(self) -> dict[str, Any]:
        """Chain (block number, state root, nonces), store (pins, block files), outbox rows."""
        w3 = self.env.w3
        latest = w3.eth.get_block("latest")
        accounts = [self.env.admin.sender.address, self.env.stranger.sender.address,
                    self.env.holder.sender.address, self.tracker.gateway.sender.address]
        with contextlib.closing(sqlite3.connect(self.outbox.path)) as db:
            items = db.execute("SELECT * FROM items ORDER BY id").fetchall()
            batches = db.execute("SELECT * FROM batches ORDER BY batch_id").fetchall()
            receipts = db.execute("SELECT * FROM receipts ORDER BY item_id").fetchall()
        return {
            "block": latest["number"], "state_root": bytes(latest["stateRoot"]),
            "nonces": [w3.eth.get_transaction_count(a) for a in accounts],  # type: ignore[arg-type]
            "pins": sorted(str(c) for c in self.store.pins()),
            "blocks": sorted(p.name for p in self.store.root.rglob("*") if p.is_file()),
            "items": items, "batches": batches, "receipts": receipts,
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("corpus")
    node = start_anvil()
    try:
        w3 = connect(node.url)
        keys = list(node.private_keys)
        env = make_env("anvil", w3, keys[0:6])
        env2 = make_env("anvil", w3, keys[0:6])
        env2.admin.set_policy(10_000, 100, 2)  # k-of-n: two distinct oracles
        settled = single_report(env)
        settled_sigs = signed(env, settled)
        env.holder.submit_single(settled, settled_sigs)
        batch_leaves = leaves(env, 3)
        tree = MerkleTree(batch_leaves)
        report = batch_report(env, batch_leaves, tree.root)
        batch_token = env.holder.submit_batch(report, signed(env, report)).token_id
        store = LocalStore(tmp / "store")
        outbox = Outbox(tmp / "outbox.sqlite", policy=RetryPolicy(base_s=0.01, cap_s=0.05))
        quorum = OracleQuorum([OracleSigner.from_private_key(k) for k in env.oracle_keys])
        gateway = type(env.admin)(w3, env.deployment, keys[6])
        tracker = Tracker(make_config(tmp, **{"mode.kind": "single"}), meter=estimate_meter(),
                          store=store, gateway=gateway, quorum=quorum, outbox=outbox, env={})
        with tracker.track(asset_bytes(1), model="corpus", campaign="corpus"):
            pass
        tracker.flush(60)  # history: one settled asset in store, outbox and chain
        yield World(node, env, env2, store, outbox, tracker, tmp, settled, settled_sigs,
                    batch_token, batch_leaves[0], tree.proof(batch_leaves[0]))
        tracker.close()
        outbox.close()
    finally:
        node.stop()
