"""Outbox: idempotent enqueue, compare-and-set transitions, retries, batches, status."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

import pytest

from xcr_py.errors import InputError
from xcr_py.oracle.outbox import Outbox, OutboxConflict, RetryPolicy

TX = "0x" + "ab" * 32
TX2 = "0x" + "cd" * 32


def d(i: int) -> bytes:
    return hashlib.sha256(f"asset-{i}".encode()).digest()


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(tmp_path / "outbox.db", rng=random.Random(7),
                 policy=RetryPolicy(base_s=2.0, cap_s=60.0, jitter=0.5, max_attempts=4))
    yield box
    box.close()


def pin(box: Outbox, i: int, now: float | None = None) -> None:
    box.mark_pinned(d(i), asset_cid=f"bafk-asset-{i}", receipt_cid=f"bafk-receipt-{i}",
                    receipt_digest=hashlib.sha256(b"r%d" % i).digest(),
                    receipt_bytes=b'{"r":%d}' % i, now=now)


def test_pragmas_wal_and_full_sync(outbox: Outbox) -> None:
    assert outbox._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_enqueue_is_idempotent_per_digest(outbox: Outbox) -> None:
    assert outbox.enqueue(d(1), {"model": "m"}, now=10.0) is True
    pin(outbox, 1)
    assert outbox.enqueue(d(1), {"model": "other"}, now=11.0) is False
    item = outbox.get(d(1))
    assert item.state == "pinned" and item.payload == {"model": "m"} and item.created_at == 10.0
    assert outbox.enqueue_many([(d(1), None), (d(2), {"k": b"\x01"}), (d(2), None)]) == 1
    assert outbox.get(d(2)).payload == {"k": "0x01"}
    assert outbox.status().counts["pending"] == 1


def test_single_mode_happy_path_stores_each_steps_data(outbox: Outbox) -> None:
    outbox.enqueue(d(1), now=1.0)
    pin(outbox, 1, now=2.0)
    item = outbox.mark_signed(d(1), report={"nonce": 5, "digest": b"\x00" * 32},
                              signatures=[b"\x01" * 65, b"\x02" * 65], now=3.0)
    assert item.report == {"nonce": 5, "digest": "0x" + "00" * 32}
    assert item.signatures == (b"\x01" * 65, b"\x02" * 65)
    outbox.mark_submitted(d(1), tx_hash=TX.upper().replace("0X", "0x"), now=4.0)
    item = outbox.mark_confirmed(d(1), token_id=2**255 + 1, now=5.0)
    assert item.state == "confirmed" and item.token_id == 2**255 + 1 and item.tx_hash == TX
    assert item.receipt_bytes == b'{"r":1}' and item.receipt_cid == "bafk-receipt-1"
    assert item.created_at == 1.0 and item.updated_at == 5.0


def test_transitions_are_compare_and_set(outbox: Outbox) -> None:
    outbox.enqueue(d(1))
    with pytest.raises(OutboxConflict, match="expected pinned, but it is pending"):
        outbox.mark_signed(d(1), report={}, signatures=[b"s"])
    with pytest.raises(OutboxConflict, match="is not in the outbox"):
        pin(outbox, 99)
    pin(outbox, 1)
    with pytest.raises(OutboxConflict, match="expected pending, but it is pinned"):
        pin(outbox, 1)
    with pytest.raises(OutboxConflict, match="expected submitted, but it is pinned"):
        outbox.mark_confirmed(d(1), token_id=1)
    assert outbox.get(d(1)).state == "pinned"


def test_bad_input_changes_nothing(outbox: Outbox) -> None:
    outbox.enqueue(d(1))
    with pytest.raises(InputError, match="asset_digest: must be 32 bytes"):
        outbox.enqueue(b"short")
    with pytest.raises(InputError, match="receipt_bytes"):
        outbox.mark_pinned(d(1), asset_cid="a", receipt_cid="r", receipt_digest=d(2))
    pin(outbox, 1)
    outbox.mark_signed(d(1), report={}, signatures=[b"s" * 65])
    with pytest.raises(InputError, match="tx_hash"):
        outbox.mark_submitted(d(1), tx_hash="0x1234")
    with pytest.raises(InputError, match="signatures"):
        outbox.mark_signed(d(2), report={}, signatures=[])
    assert outbox.get(d(1)).state == "signed"
    with pytest.raises(InputError, match="state"):
        outbox.due("confirmed")


def test_mark_pinned_many_is_all_or_nothing(outbox: Outbox) -> None:
    outbox.enqueue_many([(d(i), None) for i in range(3)])
    pin(outbox, 2)
    entries = [{"asset_digest": d(i), "asset_cid": "a", "receipt_cid": "r",
                "receipt_digest": d(10 + i), "receipt_bytes": b"{}"} for i in range(3)]
    with pytest.raises(OutboxConflict):
        outbox.mark_pinned_many(entries)
    assert [outbox.get(d(i)).state for i in range(3)] == ["pending", "pending", "pinned"]
    assert outbox.mark_pinned_many(entries[:2]) == 2
    assert outbox.status().counts["pinned"] == 3


def test_transient_errors_back_off_with_jitter_then_fail(outbox: Outbox) -> None:
    outbox.enqueue(d(1), now=0.0)
    waits = []
    for attempt in range(1, 4):
        item = outbox.retry_later(d(1), "rpc timeout", now=100.0)
        assert item.state == "pending" and item.attempts == attempt
        assert item.last_error == "rpc timeout"
        waits.append(item.next_attempt_at - 100.0)
        assert outbox.due("pending", now=100.0) == []
        assert outbox.due("pending", now=100.0 + waits[-1]) != []
    # 2 s, 4 s, 8 s, each scaled by a factor in [0.5, 1]
    for wait, full in zip(waits, (2.0, 4.0, 8.0), strict=True):
        assert full * 0.5 <= wait <= full
    assert len(set(waits)) == 3
    item = outbox.retry_later(d(1), "rpc timeout", now=200.0)
    assert item.state == "failed" and item.error_name == "RetriesExhausted"
    assert item.error_args == (4, "rpc timeout") and item.failed_from == "pending"


def test_success_resets_attempts(outbox: Outbox) -> None:
    outbox.enqueue(d(1), now=0.0)
    outbox.retry_later(d(1), "ipfs down", now=1.0)
    pin(outbox, 1, now=50.0)
    item = outbox.get(d(1))
    assert item.attempts == 0 and item.last_error is None and item.next_attempt_at == 50.0


def test_permanent_failure_keeps_decoded_error_and_is_not_due(outbox: Outbox) -> None:
    outbox.enqueue(d(1))
    pin(outbox, 1)
    outbox.mark_signed(d(1), report={}, signatures=[b"s" * 65])
    item = outbox.fail(d(1), error_name="XcrControllerIneligibleBatch",
                       error_args=[7, b"\xaa\xbb", "avoidance"])
    assert item.state == "failed" and item.failed_from == "signed"
    assert item.error_args == (7, "0xaabb", "avoidance")
    for state in ("pending", "pinned", "signed", "submitted"):
        assert outbox.due(state, now=1e12) == []  # type: ignore[arg-type]
    with pytest.raises(OutboxConflict):
        outbox.fail(d(1), error_name="Again")
    with pytest.raises(OutboxConflict):
        outbox.retry_later(d(1), "x")


def test_due_orders_and_limits(outbox: Outbox) -> None:
    for i in range(5):
        outbox.enqueue(d(i), now=float(10 - i))
    outbox.retry_later(d(4), "later", now=20.0)  # created at 6, now due at >= 21
    due = outbox.due("pending", limit=3, now=100.0)
    assert [x.asset_digest for x in due] == [d(3), d(2), d(1)]
    assert [x.asset_digest for x in outbox.due("pending", now=8.5)] == [d(3), d(2)]
    with pytest.raises(InputError, match="limit"):
        outbox.due("pending", limit=0)


def test_resume_from_signed_when_chain_already_has_it(outbox: Outbox) -> None:
    outbox.enqueue(d(1))
    pin(outbox, 1)
    outbox.mark_signed(d(1), report={}, signatures=[b"s" * 65])
    # crash after sending, before recording: chain state shows the tx; confirm from signed
    item = outbox.mark_confirmed(d(1), token_id=3, tx_hash=TX2)
    assert item.state == "confirmed" and item.tx_hash == TX2


def test_status_counts_and_oldest_pending(outbox: Outbox) -> None:
    outbox.enqueue(d(1), now=5.0)
    outbox.enqueue(d(2), now=3.0)
    outbox.enqueue(d(3), now=1.0)
    pin(outbox, 3)
    outbox.fail(d(2), error_name="Bad")
    status = outbox.status()
    assert status.counts == {"pending": 1, "pinned": 1, "signed": 0, "submitted": 0,
                             "confirmed": 0, "failed": 1}
    assert status.oldest_pending is not None and status.oldest_pending.asset_digest == d(3)
    assert status.active == 2 and status.unbatched_pinned == 1


def test_batch_flow_moves_items_with_batch(outbox: Outbox) -> None:
    for i in range(4):
        outbox.enqueue(d(i))
        pin(outbox, i)
    batch = outbox.create_batch([d(2), d(0), d(1)], now=10.0)
    assert batch.state == "open" and batch.leaves == (d(2), d(0), d(1))
    assert outbox.get(d(0)).leaf_index == 1 and outbox.get(d(0)).batch_id == batch.batch_id
    assert [x.asset_digest for x in outbox.due("pinned", now=1e12, unbatched=True)] == [d(3)]
    with pytest.raises(OutboxConflict):
        outbox.create_batch([d(3), d(1)])  # d(1) already batched: nothing changes
    assert outbox.get(d(3)).batch_id is None
    proofs = {d(i): [bytes([i]) * 32, b"\xff" * 32] for i in range(3)}
    with pytest.raises(InputError, match="proofs"):
        outbox.sign_batch(batch.batch_id, root=b"\x11" * 32, report={}, signatures=[b"s"],
                          proofs={d(0): []})
    batch = outbox.sign_batch(batch.batch_id, root=b"\x11" * 32, report={"root": b"\x11" * 32},
                              signatures=[b"s" * 65], proofs=proofs)
    assert batch.state == "signed" and batch.root == b"\x11" * 32
    assert outbox.get(d(1)).state == "signed" and outbox.get(d(1)).proof == tuple(proofs[d(1)])
    outbox.submit_batch(batch.batch_id, tx_hash=TX)
    assert {outbox.get(d(i)).state for i in range(3)} == {"submitted"}
    batch = outbox.confirm_batch(batch.batch_id, token_id=9)
    assert batch.state == "confirmed" and batch.token_id == 9
    assert {(outbox.get(d(i)).state, outbox.get(d(i)).token_id) for i in range(3)} == \
        {("confirmed", 9)}
    assert outbox.status().batch_counts["confirmed"] == 1


def test_batch_failure_and_retry(outbox: Outbox) -> None:
    for i in range(2):
        outbox.enqueue(d(i))
        pin(outbox, i)
    batch = outbox.create_batch([d(0), d(1)])
    outbox.sign_batch(batch.batch_id, root=b"\x11" * 32, report={}, signatures=[b"s" * 65],
                      proofs={d(0): [], d(1): []})
    again = outbox.retry_batch_later(batch.batch_id, "rpc 502", now=100.0)
    assert again.attempts == 1 and again.next_attempt_at > 100.0
    assert outbox.due_batches("signed", now=100.0) == []
    failed = outbox.fail_batch(batch.batch_id, error_name="XcrControllerReportReplayed",
                               error_args=[1])
    assert failed.state == "failed" and failed.failed_from == "signed"
    assert {outbox.get(d(i)).state for i in range(2)} == {"failed"}
    assert outbox.get(d(0)).error_name == "XcrControllerReportReplayed"


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path) as box:
        box.enqueue(d(1), {"a": 1})
        pin(box, 1)
    with Outbox(path) as box:
        assert box.get(d(1)).state == "pinned" and box.get(d(1)).payload == {"a": 1}


def test_schema_rejects_inconsistent_rows(outbox: Outbox) -> None:
    # The table itself refuses a row that claims a state without that step's data.
    with pytest.raises(sqlite3.IntegrityError):
        outbox._db.execute("INSERT INTO items (asset_digest, state, payload, created_at, "
                           "updated_at, next_attempt_at) VALUES (?, 'signed', '{}', 0, 0, 0)",
                           (d(1),))


def _pinned_entry(i: int, receipt: bytes = b"{}") -> dict[str, object]:
    return {"asset_digest": d(i), "payload": {"i": i}, "asset_cid": f"a{i}",
            "receipt_cid": f"r{i}", "receipt_digest": d(100 + i), "receipt_bytes": receipt}


def test_enqueue_pinned_many_is_idempotent_and_keeps_existing(outbox: Outbox) -> None:
    outbox.enqueue(d(0), {"old": True}, now=1.0)
    created = outbox.enqueue_pinned_many([_pinned_entry(0), _pinned_entry(1, b'{"x":1}'),
                                          _pinned_entry(1, b"dup")], now=1.0)
    assert created == 1
    old, new = outbox.get(d(0)), outbox.get(d(1))
    assert old.state == "pending" and old.payload == {"old": True} and old.receipt_bytes is None
    assert new.state == "pinned" and new.receipt_bytes == b'{"x":1}' and new.payload == {"i": 1}
    assert outbox.enqueue_pinned_many([_pinned_entry(1, b"again")]) == 0
    assert outbox.get(d(1)).receipt_bytes == b'{"x":1}'


def test_create_signed_batch_is_one_step(outbox: Outbox) -> None:
    outbox.enqueue_pinned_many([_pinned_entry(i) for i in range(3)])
    leaves = [d(0), d(1), d(2)]
    batch = outbox.create_signed_batch(leaves, root=b"\x22" * 32, report={"n": 3},
                                       signatures=[b"s" * 65],
                                       proofs={x: [b"\x01" * 32] for x in leaves})
    assert batch.state == "signed" and batch.signatures == (b"s" * 65,)
    assert {outbox.get(x).state for x in leaves} == {"signed"}
    assert outbox.get(d(2)).leaf_index == 2 and outbox.get(d(2)).proof == (b"\x01" * 32,)
    outbox.enqueue_pinned_many([_pinned_entry(5)])
    with pytest.raises(OutboxConflict):  # d(0) is already signed in a batch: all rolled back
        outbox.create_signed_batch([d(5), d(0)], root=b"\x22" * 32, report={},
                                   signatures=[b"s"], proofs={d(5): [], d(0): []})
    assert outbox.get(d(5)).batch_id is None
    assert outbox.status().batch_counts == {"open": 0, "signed": 1, "submitted": 0,
                                            "confirmed": 0, "failed": 0}
    with pytest.raises(InputError, match="proof nodes must be 32 bytes"):
        outbox.create_signed_batch([d(5)], root=b"\x22" * 32, report={}, signatures=[b"s"],
                                   proofs={d(5): [b"short"]})


def test_enqueue_failed_is_one_commit_and_idempotent(outbox: Outbox) -> None:
    assert outbox.enqueue_failed(d(90), {"key": "k"}, error_name="StoreUnavailable",
                                 error_args=["down"])
    item = outbox.get(d(90))
    assert (item.state, item.error_name, item.error_args) == ("failed", "StoreUnavailable",
                                                              ("down",))
    assert outbox.due("pending") == [] and outbox.status().active == 0
    assert not outbox.enqueue_failed(d(90), error_name="Other")  # the first row stays
    assert outbox.get(d(90)).error_name == "StoreUnavailable"
    outbox.enqueue(d(91))
    pin(outbox, 91)
    assert not outbox.enqueue_failed(d(91), error_name="Other")
    assert outbox.get(d(91)).state == "pinned"


def _leaf_entry(i: int, credit_batch: int = 1) -> dict[str, object]:
    return {**_pinned_entry(i), "payload": {"creator": f"0x{i:040x}", "energy_mj": 10 + i,
                                           "gross_mg": 20 + i, "credit_batch": credit_batch,
                                           "ratio_bps": 10_000}}


def test_waiting_for_batch_lists_due_unbatched_pinned_items_lightly(outbox: Outbox) -> None:
    outbox.enqueue_pinned_many([_leaf_entry(i, credit_batch=1 + i % 2) for i in range(4)],
                               now=5.0)
    outbox.enqueue(d(9), {"credit_batch": 1, "ratio_bps": 10_000}, now=1.0)  # pending
    outbox.create_batch([d(0)], now=6.0)
    waiting = outbox.waiting_for_batch(10, now=7.0)
    assert [(w[0], w[2], w[3]) for w in waiting] == [(d(1), 2, 10_000), (d(2), 1, 10_000),
                                                     (d(3), 2, 10_000)]
    assert all(w[1] == 5.0 for w in waiting) and len(outbox.waiting_for_batch(1, now=7.0)) == 1
    assert outbox.waiting_for_batch(10, now=4.0) == []  # not due yet
    with pytest.raises(InputError, match="limit"):
        outbox.waiting_for_batch(0)


def test_batch_members_are_in_leaf_order_with_leaf_fields(outbox: Outbox) -> None:
    outbox.enqueue_pinned_many([_leaf_entry(i) for i in range(3)], now=1.0)
    batch = outbox.create_batch([d(2), d(0), d(1)], now=2.0)
    members = outbox.batch_members(batch.batch_id)
    assert [m.asset_digest for m in members] == [d(2), d(0), d(1)]
    first = members[0]
    assert (first.receipt_digest, first.asset_cid, first.receipt_cid) == (d(102), "a2", "r2")
    assert (first.creator, first.energy_mj, first.gross_mg) == (f"0x{2:040x}", 12, 22)
    with pytest.raises(OutboxConflict):
        outbox.batch_members(batch.batch_id + 1)


def test_find_many_reads_existing_rows_in_one_go(outbox: Outbox) -> None:
    outbox.enqueue_pinned_many([_pinned_entry(i, b'{"r":%d}' % i) for i in range(3)])
    found = outbox.find_many([d(2), d(0), d(7)])
    assert set(found) == {d(0), d(2)}  # d(7) is not in the outbox
    assert found[d(2)] == outbox.get(d(2)) and found[d(2)].receipt_bytes == b'{"r":2}'
    light = outbox.find_many([d(1)], receipts=False)[d(1)]
    assert light.receipt_bytes is None and light.receipt_cid == "r1"
    assert len(outbox.find_many([d(i % 3) for i in range(1200)])) == 3  # chunked queries
    with pytest.raises(InputError):
        outbox.find_many([b"short"])


def test_members_lists_leaf_fields_in_the_given_order(outbox: Outbox) -> None:
    outbox.enqueue_pinned_many([_leaf_entry(i) for i in range(3)])
    members = outbox.members([d(1), d(2), d(0)])
    assert [m.asset_digest for m in members] == [d(1), d(2), d(0)]
    assert (members[0].creator, members[0].energy_mj, members[0].gross_mg) == (
        f"0x{1:040x}", 11, 21)
    outbox.enqueue(d(9))  # pending: no receipt digest yet
    with pytest.raises(OutboxConflict, match=d(9).hex()):
        outbox.members([d(0), d(9)])
    with pytest.raises(OutboxConflict, match=d(8).hex()):
        outbox.members([d(8)])


def test_create_signed_batch_moves_each_item_in_one_update(outbox: Outbox) -> None:
    outbox.enqueue_pinned_many([_leaf_entry(i) for i in range(2)], now=1.0)
    batch = outbox.create_signed_batch([d(1), d(0)], root=b"\x33" * 32, report={"k": 1},
                                       signatures=[b"s" * 65],
                                       proofs={d(1): [b"\x01" * 32], d(0): []}, now=2.0)
    assert (batch.state, batch.root, batch.report, batch.leaves) == (
        "signed", b"\x33" * 32, {"k": 1}, (d(1), d(0)))
    first, second = outbox.get(d(1)), outbox.get(d(0))
    assert (first.state, first.batch_id, first.leaf_index, first.proof) == (
        "signed", batch.batch_id, 0, (b"\x01" * 32,))
    assert (second.leaf_index, second.proof, second.updated_at) == (1, (), 2.0)
    confirmed = outbox.confirm_batch(batch.batch_id, token_id=5, tx_hash="0x" + "ab" * 32)
    assert confirmed.state == "confirmed" and outbox.get(d(0)).state == "confirmed"


def test_payload_json_matches_the_general_conversion() -> None:
    import json
    from types import MappingProxyType

    from xcr_py.oracle.outbox import _jsonable, _to_json

    values = [
        {"b": b"\x01\x02", "t": (1, 2.5, None), "n": {"z": [True, "x"]}},
        {"m": MappingProxyType({"k": b"\xff", 3: "int key"}), "s": {1}, "p": Path("/x")},
        {"weird": {(1, 2): "tuple key"}, "mixed": {1: "a", "b": 2}},
    ]
    for value in values:
        assert _to_json(value) == json.dumps(_jsonable(value), sort_keys=True)


def test_active_count_is_status_active(outbox: Outbox) -> None:
    assert outbox.active_count() == 0
    outbox.enqueue_pinned_many([_pinned_entry(i) for i in range(3)])
    outbox.enqueue(d(50))
    outbox.enqueue_failed(d(51), error_name="X")
    assert outbox.active_count() == outbox.status().active == 4
    batch = outbox.create_signed_batch([d(0), d(1)], root=b"\x01" * 32, report={},
                                       signatures=[b"s"], proofs={d(0): [], d(1): []})
    outbox.confirm_batch(batch.batch_id, token_id=1, tx_hash="0x" + "cd" * 32)
    assert outbox.active_count() == outbox.status().active == 2
