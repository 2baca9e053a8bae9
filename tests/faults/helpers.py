"""Shared parts of the fault-injection tests: a restartable anvil, a run driver, the checks.

Pass criteria (the same for every fault): after the fault clears, the run completes with no
help (no restart of the tracker, no manual retry), and

* outbox: ``ASSETS`` rows, all ``confirmed``, none ``failed``, nothing active;
* chain: exactly one ``ReceiptIssued`` log per receipt token, and every asset's receipt is on
  chain (single mode: its own token with its receipt digest; batch mode: a confirmed batch
  whose on-chain root proves the asset's leaf); no token the outbox does not know;
* store: every asset and receipt pinned;
* the outbox file passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

from tests.client.helpers import System, asset_bytes, estimate_meter, make_config
from xcr_py.chain import XcrGateway, asset_token_id
from xcr_py.chain.nodes import LocalNode, start_anvil
from xcr_py.client import Tracker
from xcr_py.content.store import BlockStore
from xcr_py.errors import ChainError
from xcr_py.oracle.eip712 import Leaf
from xcr_py.oracle.outbox import Outbox, RetryPolicy

ASSETS = 200
OUTAGE_S = 10.0
IN_FLIGHT_GRACE_S = 1.0
ASSET_SIZE = 1024
_ISSUED = keccak(text="ReceiptIssued(uint256,bytes32,uint256,bytes32,uint256,uint256,uint256)")

# Transient errors back off to 1 s and give up only after 60 tries (well past a 10 s outage);
# the product default (1 s .. 300 s, 12 tries) rides out far longer ones, just more slowly.
FAULT_POLICY = RetryPolicy(base_s=0.1, cap_s=1.0, max_attempts=60, disk_full_wait_s=120.0)


class RestartableAnvil:
    """An anvil of this test module's own that can be stopped and restarted with its state.

    ``stop()`` sends SIGTERM (anvil writes ``--dump-state``); ``start()`` starts it again on the
    same port from that state, so clients keep their URL.
    """

    def __init__(self, folder: Path) -> None:
        self.state = folder / "anvil-state.json"
        self.node: LocalNode = start_anvil(dump_state=self.state)
        self.url = self.node.url
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self.node.stop()
        assert self.state.is_file(), "anvil did not dump its state on SIGTERM"

    def start(self) -> None:
        last: Exception | None = None
        for _ in range(20):  # the port may be briefly held while the old process exits
            try:
                self.node = start_anvil(port=self.port, load_state=self.state,
                                        dump_state=self.state)
                return
            except ChainError as exc:
                last = exc
                time.sleep(0.5)
        raise AssertionError(f"anvil did not restart on port {self.port}: {last}")

    def close(self) -> None:
        self.node.stop()


@dataclass
class FaultRun:
    """What happened during one driven run (for assertions and figures)."""

    fault_at: int = 0  # confirmed rows once the fault was on (after the in-flight grace)
    outage_s: float = 0.0
    total_s: float = 0.0
    confirmed_during_outage: int = 0


def confirmed(path: Path) -> int:
    with Outbox(path) as box:
        return box.status().counts["confirmed"]


def drive(tracker: Tracker, outbox_path: Path, *, inject: Callable[[], None],
          clear: Callable[[], None], inject_after: int = 60, outage_s: float = OUTAGE_S,
          offset: int = 0) -> FaultRun:
    """Track ``ASSETS`` assets; once ``inject_after`` are confirmed, inject the fault, keep
    tracking, clear it ``outage_s`` later, then flush (the run must finish on its own)."""
    run = FaultRun()
    started = time.monotonic()
    injected = threading.Event()
    cleared = threading.Event()
    failure: list[BaseException] = []

    def fault() -> None:
        try:
            deadline = time.monotonic() + 120
            while confirmed(outbox_path) < inject_after:
                if time.monotonic() > deadline:
                    raise AssertionError(f"fewer than {inject_after} assets confirmed in 120 s")
                time.sleep(0.05)
            t0 = time.monotonic()
            inject()
            injected.set()
            # A transaction the node answered just before it stopped may still be committed
            # by the settling thread: count from once that has had time to land.
            time.sleep(IN_FLIGHT_GRACE_S)
            run.fault_at = confirmed(outbox_path)
            time.sleep(max(0.0, outage_s - IN_FLIGHT_GRACE_S))
            run.confirmed_during_outage = confirmed(outbox_path) - run.fault_at
            clear()
            run.outage_s = time.monotonic() - t0
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
        finally:
            injected.set()
            cleared.set()

    thread = threading.Thread(target=fault, name="fault-injector", daemon=True)
    thread.start()
    for i in range(ASSETS):
        with tracker.track(asset_bytes(offset + i, ASSET_SIZE), model="fault",
                           campaign="faults"):
            pass
        if i == ASSETS // 2:
            injected.wait(120)  # the second half is tracked while the fault is on
    cleared.wait(180)
    thread.join(5)
    if failure:
        raise failure[0]
    results = tracker.flush(150)
    run.total_s = time.monotonic() - started
    assert [r.state for r in results] == ["confirmed"] * ASSETS
    return run


def _issued(gateway: XcrGateway) -> dict[int, int]:
    """token id -> number of ReceiptIssued logs for it since the deployment."""
    logs = gateway.w3.eth.get_logs({"fromBlock": gateway.deployment.block_number,
                                    "toBlock": "latest", "address": gateway.receipts.address})
    counts: dict[int, int] = {}
    for log in logs:
        if bytes(log["topics"][0]) == _ISSUED:
            token = int.from_bytes(bytes(log["topics"][1]), "big")
            counts[token] = counts.get(token, 0) + 1
    return counts


def check_no_loss_no_duplicate(outbox_path: Path, gateway: XcrGateway, store: BlockStore,
                               mode: str) -> None:
    """The pass criteria of the module docstring."""
    with Outbox(outbox_path) as box:
        status = box.status()
        items = box.items()
        batches = {i.batch_id: box.get_batch(i.batch_id) for i in items if i.batch_id}
    assert status.counts["confirmed"] == ASSETS and status.counts["failed"] == 0, status.counts
    assert status.active == 0, status
    assert len({i.asset_digest for i in items}) == ASSETS == len(items)
    with sqlite3.connect(outbox_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    issued = _issued(gateway)
    assert all(n == 1 for n in issued.values()), {t: n for t, n in issued.items() if n != 1}
    pins = {str(c) for c in store.pins()}
    for item in items:
        assert item.asset_cid in pins and item.receipt_cid in pins
        if mode == "single":
            token = asset_token_id(item.asset_digest)
            assert item.token_id == token and issued.get(token) == 1
            assert gateway.receipt(token).receipt_digest == item.receipt_digest
        else:
            assert item.batch_id is not None
            batch = batches[item.batch_id]
            assert batch.state == "confirmed" and item.token_id == batch.token_id
            leaf = Leaf(item.asset_digest, item.receipt_digest or b"", item.payload["creator"],
                        item.payload["energy_mj"], item.payload["gross_mg"])
            assert gateway.verify_asset(item.token_id or 0, leaf, list(item.proof))
    known = {i.token_id for i in items}
    assert set(issued) == known, "a receipt on chain that the outbox does not know"


def make_tracker(tmp: Path, system: System, store: BlockStore, outbox: Outbox, mode: str,
                 **overrides: object) -> Tracker:
    """A tracker on ``system`` with a declared-power meter and the given parts."""
    config = make_config(tmp, **{"mode.kind": mode, "mode.batch_size": 16,
                                 "mode.max_delay_s": 0.5, **overrides})
    return Tracker(config, meter=estimate_meter(), store=store, gateway=system.gateway(),
                   quorum=system.quorum(), outbox=outbox, env={})
