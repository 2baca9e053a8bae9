"""Crash safety: a worker driving the outbox is SIGKILLed at random points and restarted.

The worker (this file run as a script) drives assets through the outbox against a fake
chain (a second SQLite file that, unlike the contract, does *not* refuse duplicates), and
follows the resume rule of ``xcr_py.oracle.outbox``: before (re-)submitting, read chain
state. It prints one line after each committed step. After every kill the test checks that
each step the worker reported is still there (no row lost or moved back), that every row is
in exactly one valid state, and that no asset reached the chain twice; a final run must
finish every asset exactly once.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ORDER = ("pending", "pinned", "signed", "submitted", "confirmed")
N_ASSETS = 120
BATCH = 16
TRIALS = 10


def digest(i: int) -> bytes:
    return hashlib.sha256(f"crash-asset-{i}".encode()).digest()


# -- the worker -----------------------------------------------------------------------------


_DIE_AFTER = [int(os.environ.get("OUTBOX_WORKER_DIE_AFTER", "0"))]


def _say(*parts: object) -> None:
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()
    _DIE_AFTER[0] -= 1
    if _DIE_AFTER[0] == 0:  # a precise kill point: right after this committed step
        os.kill(os.getpid(), signal.SIGKILL)


def _chain(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    # No UNIQUE constraints on purpose: duplicates would be visible, not refused.
    db.execute("CREATE TABLE IF NOT EXISTS receipts (key BLOB, token INTEGER, tx TEXT, "
               "leaves TEXT)")
    return db


def _on_chain(chain: sqlite3.Connection, key: bytes) -> tuple[int, str] | None:
    row = chain.execute("SELECT token, tx FROM receipts WHERE key = ?", (key,)).fetchone()
    return None if row is None else (row[0], row[1])


def _send(chain: sqlite3.Connection, key: bytes, leaves: list[bytes] | None = None) -> str:
    tx = "0x" + hashlib.sha256(b"tx" + key).hexdigest()
    chain.execute("INSERT INTO receipts (key, token, tx, leaves) VALUES (?, "
                  "(SELECT count(*) + 1 FROM receipts), ?, ?)",
                  (key, tx, json.dumps([x.hex() for x in leaves or []])))
    _say("chain", key.hex())
    return tx


def _outbox_module():  # type: ignore[no-untyped-def]  # pragma: no cover - subprocess
    """Load outbox.py alone: the worker is restarted often, the oracle package is heavy."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "xcr_py" / "oracle" / "outbox.py"
    spec = importlib.util.spec_from_file_location("xcr_outbox_worker", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def worker(db_path: str, chain_path: str, mode: str) -> None:  # pragma: no cover - subprocess
    box = _outbox_module().Outbox(db_path)
    chain = _chain(chain_path)
    if mode == "batch":
        # The batch fast path: assets hashed and pinned from memory are recorded as pinned.
        for start in range(0, N_ASSETS, 40):
            chunk = [digest(i) for i in range(start, min(N_ASSETS, start + 40))]
            new = [h for h in chunk if box.find(h) is None]
            box.enqueue_pinned_many([_pinned(h) for h in chunk])
            for h in new:
                _say("pinned", h.hex())
    for i in range(N_ASSETS):
        if box.enqueue(digest(i), {"i": i}):
            _say("pending", digest(i).hex())
    while box.status().active:
        for item in box.due("pending", 1000, now=1e18):
            h = item.asset_digest
            box.mark_pinned(h, asset_cid="asset-" + h.hex()[:8],
                            receipt_cid="receipt-" + h.hex()[:8],
                            receipt_digest=hashlib.sha256(b"r" + h).digest(),
                            receipt_bytes=b"{}")
            _say("pinned", h.hex())
        if mode == "single":
            _single(box, chain)
        else:
            _batch(box, chain)


def _pinned(h: bytes) -> dict[str, object]:  # pragma: no cover - subprocess
    return {"asset_digest": h, "asset_cid": "asset-" + h.hex()[:8],
            "receipt_cid": "receipt-" + h.hex()[:8],
            "receipt_digest": hashlib.sha256(b"r" + h).digest(), "receipt_bytes": b"{}"}


def _single(box, chain) -> None:  # type: ignore[no-untyped-def]  # pragma: no cover
    for item in box.due("pinned", 1000, now=1e18):
        box.mark_signed(item.asset_digest, report={"d": item.asset_digest},
                        signatures=[b"\x01" * 65])
        _say("signed", item.asset_digest.hex())
    for item in box.due("signed", 1000, now=1e18):
        h = item.asset_digest
        found = _on_chain(chain, h)  # the resume rule: read chain state first
        if found is not None:
            box.mark_confirmed(h, token_id=found[0], tx_hash=found[1])
            _say("confirmed", h.hex())
            continue
        box.mark_submitted(h, tx_hash=_send(chain, h))
        _say("submitted", h.hex())
    for item in box.due("submitted", 1000, now=1e18):
        found = _on_chain(chain, item.asset_digest)
        assert found is not None, "a submitted asset is always on the fake chain"
        box.mark_confirmed(item.asset_digest, token_id=found[0])
        _say("confirmed", item.asset_digest.hex())


def _batch(box, chain) -> None:  # type: ignore[no-untyped-def]  # pragma: no cover
    waiting = box.due("pinned", 1000, now=1e18, unbatched=True)
    for start in range(0, len(waiting), BATCH):
        group = [x.asset_digest for x in waiting[start:start + BATCH]]
        root = hashlib.sha256(b"".join(group)).digest()
        box.create_signed_batch(group, root=root, report={"root": root},
                                        signatures=[b"\x01" * 65],
                                        proofs={x: [root] for x in group})
        for leaf in group:
            _say("signed", leaf.hex())
    for batch in box.due_batches("open", 1000, now=1e18):
        root = hashlib.sha256(b"".join(batch.leaves)).digest()
        box.sign_batch(batch.batch_id, root=root, report={"root": root},
                       signatures=[b"\x01" * 65], proofs={x: [root] for x in batch.leaves})
        for leaf in batch.leaves:
            _say("signed", leaf.hex())
    for batch in box.due_batches("signed", 1000, now=1e18):
        assert batch.root is not None
        found = _on_chain(chain, batch.root)
        if found is not None:
            box.confirm_batch(batch.batch_id, token_id=found[0], tx_hash=found[1])
            for leaf in batch.leaves:
                _say("confirmed", leaf.hex())
            continue
        box.submit_batch(batch.batch_id, tx_hash=_send(chain, batch.root, list(batch.leaves)))
        for leaf in batch.leaves:
            _say("submitted", leaf.hex())
    for batch in box.due_batches("submitted", 1000, now=1e18):
        assert batch.root is not None
        found = _on_chain(chain, batch.root)
        assert found is not None
        box.confirm_batch(batch.batch_id, token_id=found[0])
        for leaf in batch.leaves:
            _say("confirmed", leaf.hex())


# -- the test -------------------------------------------------------------------------------


def _start(tmp_path: Path, mode: str, die_after: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, str(tmp_path / "outbox.db"), str(tmp_path / "chain.db"), mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
             "OUTBOX_WORKER_DIE_AFTER": str(die_after)})


def _check(tmp_path: Path, reported: dict[str, int], mode: str) -> dict[str, str]:
    db = sqlite3.connect(tmp_path / "outbox.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT hex(asset_digest), state, tx_hash FROM items").fetchall()
    states = {h.lower(): s for h, s, _ in rows}
    assert len(states) == len(rows)  # one row per asset
    assert set(states) <= {digest(i).hex() for i in range(N_ASSETS)}
    for h, step in reported.items():
        assert h in states, f"asset {h} was lost"
        state = states[h]
        assert state in ORDER, state
        assert ORDER.index(state) >= step, f"asset {h} moved back from {ORDER[step]} to {state}"
    chain = sqlite3.connect(tmp_path / "chain.db")
    keys = [bytes(k) for (k,) in chain.execute("SELECT key FROM receipts")]
    assert len(keys) == len(set(keys)), "a report reached the chain twice"
    if mode == "batch":
        leaves = [x for (t,) in chain.execute("SELECT leaves FROM receipts")
                  for x in json.loads(t)]
        assert len(leaves) == len(set(leaves)), "an asset was settled in two batches"
    db.close()
    chain.close()
    return states


# Fewest lines a worker still prints for an asset in each state. A signed (or submitted) asset
# found on chain at resume goes straight to confirmed, so "submitted" and "chain" may not come.
_LEAST_LINES = {"pending": 3, "pinned": 2, "signed": 1, "submitted": 1, "confirmed": 0}


def _lines_left(tmp_path: Path) -> int:
    """A lower bound on the lines a worker run still prints (so a precise kill point exists)."""
    if not (tmp_path / "outbox.db").exists():
        return N_ASSETS * 3
    db = sqlite3.connect(tmp_path / "outbox.db")
    states = [s for (s,) in db.execute("SELECT state FROM items")]
    db.close()
    return (N_ASSETS - len(states)) * 3 + sum(_LEAST_LINES[s] for s in states)


@pytest.mark.parametrize("mode", ["single", "batch"])
def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path: Path,
                                                               mode: str) -> None:
    rng = random.Random(20261203 + len(mode))
    reported: dict[str, int] = {}
    kills = 0
    for trial in range(TRIALS):
        remaining = _lines_left(tmp_path)
        if remaining == 0:
            break
        # Even trials: the worker kills itself right after a random one of its remaining
        # steps (precise points, including between a chain send and its outbox record).
        # Odd trials: SIGKILL from outside once the worker has printed a random number of
        # lines; it runs on meanwhile, so the kill can land anywhere, also in a transaction.
        precise = trial % 2 == 0
        point = rng.randint(1, remaining)
        proc = _start(tmp_path, mode, die_after=point if precise else 0)
        seen: list[str] = []
        if not precise:
            assert proc.stdout is not None
            while len(seen) < point and (line := proc.stdout.readline()):
                seen.append(line)
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        for line in [*seen, *out.splitlines()]:
            kind, *rest = line.split()
            if kind in ORDER:
                reported[rest[0]] = max(reported.get(rest[0], 0), ORDER.index(kind))
        assert proc.returncode in (0, -signal.SIGKILL), err
        kills += proc.returncode == -signal.SIGKILL
        _check(tmp_path, reported, mode)
    assert kills >= TRIALS // 2  # the trials really were killed mid-run

    final = _start(tmp_path, mode)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    states = _check(tmp_path, reported, mode)
    assert len(states) == N_ASSETS and set(states.values()) == {"confirmed"}

    from xcr_py.oracle.outbox import Outbox

    with Outbox(tmp_path / "outbox.db") as box:
        status = box.status()
        assert status.active == 0 and status.oldest_pending is None
        assert status.counts["confirmed"] == N_ASSETS
        chain = sqlite3.connect(tmp_path / "chain.db")
        on_chain = dict(chain.execute("SELECT key, token FROM receipts").fetchall())
        chain.close()
        for item in box.items():
            key = item.asset_digest if mode == "single" else box.get_batch(item.batch_id).root
            assert item.token_id == on_chain[key]
        if mode == "single":
            assert len(on_chain) == N_ASSETS


if __name__ == "__main__":  # pragma: no cover - the worker process
    worker(sys.argv[1], sys.argv[2], sys.argv[3])
