"""End-to-end on the embedded chain + LocalStore: track, pin, receipt, settle, read back."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.client.helpers import System, asset_bytes, store_has_pin
from xcr_py.chain import BATCH_BIT, asset_token_id
from xcr_py.client import Tracker, TrackingFailed, batch_token_id, track
from xcr_py.client.default import set_default_tracker
from xcr_py.content.cid import bytes_cid
from xcr_py.content.local import LocalStore
from xcr_py.content.packs import PackGroup
from xcr_py.errors import InputError, StoreUnavailable
from xcr_py.oracle.eip712 import Leaf, verify_proof
from xcr_py.receipt import parse_receipt

MakeTracker = Callable[..., Tracker]


def _check_receipt_on_chain(tracker: Tracker, result: object) -> None:
    """The stored receipt is canonical, pinned, and what the chain recorded."""
    store, gw = tracker.store, tracker.gateway
    assert result.state == "confirmed", result  # type: ignore[attr-defined]
    data = store.get(result.receipt_cid)  # type: ignore[attr-defined]
    receipt = parse_receipt(data, canonical=True)
    assert receipt.asset.cid == result.asset_cid  # type: ignore[attr-defined]
    assert receipt.emissions.gross_mg == result.gross_mg  # type: ignore[attr-defined]
    assert store_has_pin(store, result.asset_cid)  # type: ignore[attr-defined]
    assert store_has_pin(store, result.receipt_cid)  # type: ignore[attr-defined]
    assert gw.receipt_exists(result.token_id)  # type: ignore[attr-defined]
    return None


def test_single_mode_track_path_and_decorator(make_tracker: MakeTracker, system: System,
                                              tmp_path: Path) -> None:
    tracker = make_tracker("single")
    with tracker.track(model="sdxl", campaign="spring", params={"seed": 1}) as t:
        t.set_asset(asset_bytes(1))
    image = tmp_path / "img.png"
    image.write_bytes(asset_bytes(2))
    with tracker.track(image, model="sdxl", campaign="spring"):
        pass

    @tracker.tracked(model="sdxl", campaign="spring")
    def render(i: int) -> bytes:
        return asset_bytes(i)

    assert render(3) == asset_bytes(3)
    results = tracker.flush(120)
    assert [r.state for r in results] == ["confirmed"] * 3
    for result, i in zip(results, (1, 2, 3), strict=True):
        _check_receipt_on_chain(tracker, result)
        cid = bytes_cid(asset_bytes(i))
        assert result.asset_cid == str(cid)
        assert result.token_id == asset_token_id(cid.raw_digest)
        record = tracker.gateway.receipt(result.token_id)
        assert record.receipt_digest == hashlib.sha256(
            tracker.store.get(result.receipt_cid)).digest()
        assert record.owner == tracker.creator
        assert record.gross_mg == result.gross_mg and record.energy_mj == result.energy_mj
        assert record.token_uri == f"ipfs://{result.receipt_cid}"
        receipt = parse_receipt(tracker.store.get(result.receipt_cid))
        assert receipt.asset.media_type == "image/png"
        assert receipt.energy.method == "estimated"
        assert receipt.removal.credit.batch_id == system.credit_batch  # skips the low one


def test_batch_mode_track_batch_proofs_verify_on_chain(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("batch", batch_size=4)
    with tracker.track_batch(weights=[3, 1], model="sdxl", campaign="b") as b:
        b.set_assets([asset_bytes(10), asset_bytes(11)])
    for i in (12, 13, 14):
        with tracker.track(asset_bytes(i), model="sdxl", campaign="b"):
            pass
    results = tracker.flush(120)
    assert [r.state for r in results] == ["confirmed"] * 5
    # Weights 3:1 split the one window's energy exactly 3:1 (up to the last mJ).
    a, b_ = results[0].energy_mj, results[1].energy_mj
    assert a is not None and b_ is not None and abs(a - 3 * b_) <= 3
    tokens = {r.token_id for r in results}
    assert len(tokens) == 2  # 4 in the full batch, 1 in the forced partial batch
    for result in results:
        _check_receipt_on_chain(tracker, result)
        assert result.token_id is not None and result.token_id & BATCH_BIT
        item = tracker.outbox.get(bytes.fromhex(result.asset_digest or ""))
        leaf = Leaf(asset_digest=item.asset_digest, receipt_digest=item.receipt_digest or b"",
                    creator=tracker.creator, energy_mj=item.payload["energy_mj"],
                    gross_mg=item.payload["gross_mg"])
        batch = tracker.outbox.get_batch(item.batch_id or 0)
        assert batch.root is not None and batch_token_id(batch.root) == result.token_id
        assert verify_proof(item.proof, batch.root, leaf)
        assert tracker.gateway.verify_asset(result.token_id, leaf, list(item.proof))
        # The proof document beside the receipt is pinned and carries the same proof.
        proof_cid = batch.report["proof_cids"][item.leaf_index]  # type: ignore[index]
        assert store_has_pin(tracker.store, proof_cid)
        doc = json.loads(tracker.store.get(proof_cid))
        assert doc["proof"] == ["0x" + h.hex() for h in item.proof]
        assert doc["receipt_cid"] == result.receipt_cid
    # The batch document is pinned, canonical, and its digest is the batch token's record.
    batch = tracker.outbox.get_batch(results[0].batch_id or 0)
    doc_bytes = tracker.store.get(batch.report["doc_cid"])  # type: ignore[index]
    doc = json.loads(doc_bytes)
    assert [leaf["receipt_cid"] for leaf in doc["leaves"]] == [r.receipt_cid for r in results[:4]]
    record = tracker.gateway.receipt(results[0].token_id or 0)
    assert record.is_batch and record.receipt_digest == hashlib.sha256(doc_bytes).digest()
    assert record.gross_mg == sum(r.gross_mg or 0 for r in results[:4])
    # A leaf's own receipt can be claimed with the stored proof (it retires nothing).
    first = tracker.outbox.get(bytes.fromhex(results[0].asset_digest or ""))
    leaf = Leaf(first.asset_digest, first.receipt_digest or b"", tracker.creator,
                first.payload["energy_mj"], first.payload["gross_mg"])
    claim = tracker.gateway.claim_asset_receipt(results[0].token_id or 0, leaf,
                                                list(first.proof))
    assert claim.token_id == asset_token_id(first.asset_digest)


def test_duplicate_asset_settles_once(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("single")
    for _ in range(2):
        with tracker.track(asset_bytes(20), model="m"):
            pass
    results = tracker.flush(60)
    assert len(results) == 2 and results[0].token_id == results[1].token_id
    assert tracker.outbox.status().counts["confirmed"] == 1


def test_revert_is_failed_with_decoded_error_and_flush_raises(
        make_tracker: MakeTracker, system: System) -> None:
    tracker = make_tracker("single")
    system.admin.pause()
    try:
        with tracker.track(asset_bytes(30), model="m"):
            pass
        with pytest.raises(TrackingFailed) as info:
            tracker.flush(60)
    finally:
        system.admin.unpause()
    (result,) = info.value.results
    assert result.state == "failed"
    assert result.error is not None and result.error.startswith("XcrControllerPaused")
    item = tracker.outbox.get(bytes.fromhex(result.asset_digest or ""))
    assert item.error_name == "XcrControllerPaused" and item.failed_from == "signed"
    assert item.attempts == 0  # permanent: not retried


def test_no_eligible_credit_batch_fails_before_signing(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("single", credit_batch=1)  # batch 1: permanence below policy
    with tracker.track(asset_bytes(40), model="m"):
        pass
    with pytest.raises(TrackingFailed) as info:
        tracker.flush(30)
    (result,) = info.value.results
    assert result.state == "failed" and "permanence 50 y < policy 100 y" in (result.error or "")
    assert tracker.outbox.get(bytes.fromhex(result.asset_digest or "")).error_name == \
        "NoEligibleCredits"


def test_bad_input_is_rejected_on_the_callers_thread(make_tracker: MakeTracker,
                                                     tmp_path: Path) -> None:
    tracker = make_tracker("single")
    with pytest.raises(InputError, match="asset: no asset"), tracker.track(model="m"):
        pass
    with pytest.raises(InputError, match="asset: must be bytes or a readable file"), \
            tracker.track(model="m") as t:
        t.set_asset(tmp_path / "missing.png")
    with pytest.raises(InputError, match=r"weights: must have one weight per asset \(2\)"), \
            tracker.track_batch(weights=[1], model="m") as b:
        b.set_assets([asset_bytes(50), asset_bytes(51)])
    with pytest.raises(InputError, match="creator"), \
            tracker.track(asset_bytes(52), model="m", creator="0x12"):
        pass
    assert tracker.flush(10) == []
    assert tracker.outbox.status().counts == dict.fromkeys(
        ("pending", "pinned", "signed", "submitted", "confirmed", "failed"), 0)


def test_module_level_track_uses_the_default_tracker(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("single")
    previous = set_default_tracker(tracker)
    try:
        with track(model="m", campaign="c") as t:
            t.set_asset(asset_bytes(60))
        (result,) = tracker.flush(60)
    finally:
        set_default_tracker(previous)
    assert result.state == "confirmed" and result.payload["campaign"] == "c"


def test_a_failed_group_sync_fails_its_assets_and_keeps_the_rest(
        make_tracker: MakeTracker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks whose durability is unknown are never referenced as pinned: failed rows instead."""
    tracker = make_tracker("single")
    store = tracker.store
    index = store._index  # type: ignore[attr-defined]
    real = index.commit
    calls = []

    def flaky(group: PackGroup) -> None:
        calls.append((len(group.blocks), len(group.pins)))
        if len(calls) == 1:
            raise OSError(5, "write-back error")
        real(group)

    monkeypatch.setattr(index, "commit", flaky)
    with tracker.track(asset_bytes(50), model="m"):
        pass
    with pytest.raises(TrackingFailed) as info:
        tracker.flush(60)
    (lost,) = info.value.results
    assert lost.state == "failed" and (lost.error or "").startswith("OSError")
    assert tracker.outbox.get(bytes.fromhex(lost.asset_digest or "")).receipt_cid is None
    with tracker.track(asset_bytes(51), model="m"):
        pass
    (ok,) = tracker.flush(60)
    assert ok.state == "confirmed" and calls[0] == (2, 2)  # asset and receipt, both pinned
    assert not store.has(lost.asset_cid or "")  # the failed group's blocks stay invisible


def test_preparing_goes_on_while_a_settlement_waits_on_the_chain(
        make_tracker: MakeTracker) -> None:
    """Settling has its own thread: assets tracked while one transaction is in flight are
    prepared and pinned meanwhile (one worker would have left them queued)."""
    tracker = make_tracker("single")
    entered, release = threading.Event(), threading.Event()
    submit = tracker.gateway.submit_single

    def slow_submit(*args: object, **kwargs: object) -> object:
        entered.set()
        assert release.wait(60), "the test never released the first submission"
        return submit(*args, **kwargs)  # type: ignore[arg-type]

    tracker.gateway.submit_single = slow_submit  # type: ignore[method-assign]
    with tracker.track(asset_bytes(800), model="m"):
        pass
    assert entered.wait(60), "the first asset never reached submission"
    for i in (801, 802, 803):
        with tracker.track(asset_bytes(i), model="m"):
            pass
    reader = tracker._read()
    digests = [bytes(bytes_cid(asset_bytes(i)).raw_digest) for i in (801, 802, 803)]
    deadline = time.monotonic() + 30
    while any(reader.find(d) is None for d in digests):
        assert time.monotonic() < deadline, "later assets were not prepared"
        time.sleep(0.01)
    first = reader.find(bytes(bytes_cid(asset_bytes(800)).raw_digest))
    assert first is not None and first.state == "signed"  # still in flight
    release.set()
    results = tracker.flush(120)
    assert [r.state for r in results] == ["confirmed"] * 4
    assert len({r.tx_hash for r in results}) == 4


class _FlakyStore(LocalStore):
    """A LocalStore whose first ``outages`` asset puts find the store away."""

    def __init__(self, root: Path, outages: int) -> None:
        super().__init__(root)
        self.outages = outages
        self.refused = 0

    def put_bytes_binary(self, data: bytes, *, pin: bool = True) -> bytes:
        if self.outages > 0 and data.startswith(b"\x89PNG"):  # assets, not receipts
            self.outages -= 1
            self.refused += 1
            raise StoreUnavailable("no IPFS daemon answers at /ip4/127.0.0.1/tcp/5001 (test)")
        return super().put_bytes_binary(data, pin=pin)


@pytest.mark.parametrize("mode", ["single", "batch"])
def test_a_store_outage_while_preparing_is_retried_not_failed(
        make_tracker: MakeTracker, tmp_path: Path, mode: str) -> None:
    """Three assets meet the store away (twice for one of them): each is prepared again
    after the outbox's backoff and ends confirmed; nothing fails."""
    store = _FlakyStore(tmp_path / "flaky", outages=4)
    tracker = make_tracker(mode, batch_size=3, store=store)
    for i in (810, 811, 812):
        with tracker.track(asset_bytes(i), model="m"):
            pass
    results = tracker.flush(120)
    assert store.refused == 4
    assert [r.state for r in results] == ["confirmed"] * 3
    assert tracker.outbox.status().counts["failed"] == 0
    for result in results:
        _check_receipt_on_chain(tracker, result)


def test_a_store_that_stays_away_fails_the_asset_as_retries_exhausted(
        make_tracker: MakeTracker, tmp_path: Path) -> None:
    store = _FlakyStore(tmp_path / "down", outages=10**6)
    tracker = make_tracker("single", store=store)
    with tracker.track(asset_bytes(820), model="m"):
        pass
    with pytest.raises(TrackingFailed) as info:
        tracker.flush(60)
    (failed,) = info.value.failures
    limit = tracker.outbox.policy.max_attempts
    assert store.refused == limit  # tried exactly up to the policy's limit, then given up
    assert failed.state == "failed" and failed.error is not None
    assert failed.error.startswith("RetriesExhausted") and "StoreUnavailable" in failed.error
    item = tracker.outbox.get(bytes.fromhex(failed.asset_digest or ""))
    assert item.error_args[0] == limit
