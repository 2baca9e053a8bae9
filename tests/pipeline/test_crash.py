"""Crash safety: a 200-asset run is SIGKILLed at random points and restarted each time.

Every trial resumes the same run folder (outbox, block store, deployment). Afterwards every
asset has exactly one receipt on chain (single mode: its own token; batch mode: exactly one
settled batch whose on-chain root proves it), its receipt and asset are pinned, and the
outbox shows nothing pending. Kill points are drawn from a seeded RNG (printed on failure).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from eth_utils import keccak

from tests.client.helpers import System, deploy_system, store_has_pin
from xcr_py.chain import XcrGateway, asset_token_id
from xcr_py.chain.embedded import EmbeddedChain
from xcr_py.content.local import LocalStore
from xcr_py.oracle.eip712 import Leaf
from xcr_py.oracle.outbox import Outbox

ROOT = Path(__file__).resolve().parents[2]
ASSETS = 200
TRIALS = 20
_ISSUED = keccak(text="ReceiptIssued(uint256,bytes32,uint256,bytes32,uint256,uint256,uint256)")


def _start(folder: Path, crash_after: int = 0, announce: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XCR_CRASH_AFTER": str(crash_after),
           "XCR_ANNOUNCE": "1" if announce else "0"}
    return subprocess.Popen([sys.executable, "-m", "tests.pipeline.crash_run", str(folder)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", line + proc.stdout.read()


def _unconfirmed(folder: Path) -> int:
    """Assets not yet confirmed in the outbox (untracked ones included)."""
    path = folder / "outbox.sqlite"
    if not path.exists():
        return ASSETS
    with Outbox(path) as box:
        return ASSETS - box.status().counts["confirmed"]


def _read_changes(proc: subprocess.Popen[str], n: int) -> None:
    """Wait until the process has announced ``n`` state changes (or ended)."""
    assert proc.stdout is not None
    seen = 0
    while seen < n:
        line = proc.stdout.readline()
        if not line:
            return
        seen += line.strip() == "change"


def run_trials(folder: Path, rng: random.Random, trials: int, batch_size: int) -> int:
    """One SIGKILL per trial, then a restart; returns how many kills landed mid-run.

    Both kinds of trial pick k, a random one of the state changes still to come (at least one
    per batch of unconfirmed assets is left, so the point exists), drawn from up to four times
    an even share of that bound over the trials left, so that all the kills fall inside the
    run (drawn from all of it, the run was over after 8-10 trials). Even trials kill precisely
    there: the process SIGKILLs itself right after its k-th outbox write or chain transaction.
    Odd trials kill from outside: once the process has announced its k-th state change (it
    runs on meanwhile) and a further random 0-20 ms, which lands anywhere, also inside a
    SQLite transaction or a block being mined, and still before the end of the run: a time
    drawn without that anchor is outrun by a fast enough pipeline.
    """
    killed = 0
    for trial in range(trials):
        left = _unconfirmed(folder)
        if left == 0:
            break
        precise = trial % 2 == 0
        # A lower bound on the state changes left: one per unconfirmed batch, partial or not.
        at_least = -(-left // batch_size)
        # Spread over the trials still to come (four times an even share of that bound, at
        # most the bound; about three changes a batch lie ahead in fact), so that the run is
        # not over before its 20th kill.
        k = rng.randint(1, max(1, min(at_least, 4 * at_least // (trials - trial))))
        proc = _start(folder, crash_after=k if precise else 0, announce=not precise)
        _wait_ready(proc)
        if not precise:
            _read_changes(proc, k)
            time.sleep(rng.uniform(0.0, 0.02))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=300)
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        assert proc.returncode in (0, -signal.SIGKILL), out
        killed += proc.returncode == -signal.SIGKILL
    return killed


def finish(folder: Path) -> str:
    """A last run without a kill; it must settle everything."""
    proc = _start(folder)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return out


def _issued(gateway: XcrGateway) -> dict[int, int]:
    """token id -> number of ReceiptIssued events for it."""
    logs = gateway.w3.eth.get_logs({"fromBlock": gateway.deployment.block_number,
                                    "toBlock": "latest", "address": gateway.receipts.address})
    counts: dict[int, int] = {}
    for log in logs:
        if bytes(log["topics"][0]) == _ISSUED:
            token = int.from_bytes(bytes(log["topics"][1]), "big")
            counts[token] = counts.get(token, 0) + 1
    return counts


def check_invariants(folder: Path, gateway: XcrGateway, mode: str) -> None:
    """Exactly one receipt per asset on chain, everything pinned, nothing pending."""
    store = LocalStore(folder / "store")
    pins = {str(c) for c in store.pins()}
    with Outbox(folder / "outbox.sqlite") as box:
        status = box.status()
        items = box.items()
        batches = {i.batch_id: box.get_batch(i.batch_id) for i in items if i.batch_id}
    assert status.active == 0 and status.oldest_pending is None, status
    assert status.counts["confirmed"] == ASSETS and status.counts["failed"] == 0, status.counts
    assert len({i.asset_digest for i in items}) == ASSETS
    issued = _issued(gateway)
    assert all(n == 1 for n in issued.values())
    for item in items:
        assert item.asset_cid in pins and item.receipt_cid in pins
        assert store_has_pin(store, item.receipt_cid or "")
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
    if mode == "batch":
        # No batch settled on chain that the outbox does not know (no orphan, no duplicate).
        confirmed = {b.token_id for b in batches.values()}
        assert set(issued) == confirmed
        assert sum(b.leaves.__len__() for b in batches.values()) == ASSETS


def prepare_run(folder: Path, system: System, run: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    system.deployment.save(folder / "deployment.json")
    (folder / "run.json").write_text(json.dumps({
        "submitter_key": system.submitter_key, "oracle_keys": system.oracle_keys,
        "assets": ASSETS, **run}))


def test_crash_safety_on_anvil(anvil_system: System, anvil_node: Any, tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    folder = tmp_path / "run"
    prepare_run(folder, anvil_system, {"backend": "rpc", "rpc_url": anvil_node.url,
                                       "mode": "single", "batch_size": 16})
    killed = run_trials(folder, rng, TRIALS, batch_size=1)
    out = finish(folder)
    assert f"done {ASSETS}" in out, f"seed {seed}: {out}"
    assert killed >= TRIALS - 2, f"seed {seed}: only {killed} kills landed mid-run"
    check_invariants(folder, anvil_system.gateway(), "single")


def test_crash_safety_on_the_persistent_embedded_chain(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    folder = tmp_path / "run"
    with EmbeddedChain(folder / "chain") as chain:
        system = deploy_system(chain.w3, chain.dev_private_keys())
        prepare_run(folder, system, {"backend": "embedded", "mode": "batch", "batch_size": 8})
    killed = run_trials(folder, rng, TRIALS, batch_size=8)
    out = finish(folder)
    assert f"done {ASSETS}" in out, f"seed {seed}: {out}"
    assert killed >= TRIALS - 2, f"seed {seed}: only {killed} kills landed mid-run"
    with EmbeddedChain(folder / "chain") as chain:
        check_invariants(folder, XcrGateway(chain.w3, system.deployment, system.submitter_key),
                         "batch")
