"""The settlement worker: drives outbox rows from ``pinned`` to ``confirmed`` on chain.

Single mode: one EIP-712 ``MeteringReport`` per asset, signed by the oracle quorum, one
``submitSingle`` transaction, confirmed with the asset's receipt token id.

Batch mode: up to ``batch_size`` pinned assets (or whatever waited ``max_delay_s``) become one
Merkle batch: a :class:`~xcr_py.oracle.eip712.Leaf` per asset, the tree, one pinned proof
document per asset (``xcr.proof/1``) and one pinned batch document (``xcr.batch/1``, canonical
JSON listing every leaf's asset, receipt and proof CIDs), a signed ``BatchReport`` whose
receipt digest is that document's sha256, one ``submitBatch``; every asset is confirmed with
the batch token id and keeps its inclusion proof in the outbox.

Crash safety: each outbox transition is committed before the next side effect. A row found in
``signed`` or ``submitted`` that this process did not sign itself may already be on chain, so
the chain is read first (the asset's token for single mode, the batch token id, the Merkle root
with the top bit set, for batch mode) and the row is confirmed with the transaction that
minted it instead of being sent again.

Errors: a :class:`~xcr_py.errors.ContractRevert` is permanent (row ``failed`` with the decoded
custom error name and arguments); connection and store errors back off with jitter (the
outbox's :class:`~xcr_py.oracle.outbox.RetryPolicy`) and fail as ``RetriesExhausted`` at the
limit.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import fields
from typing import Any, Literal, TypeVar

from xcr_py.chain.gateway import XcrGateway
from xcr_py.client.onchain import asset_token_id, batch_token_id, settling_tx
from xcr_py.content.blocks import cid_text
from xcr_py.content.store import BlockStore
from xcr_py.errors import (
    ChainError,
    ContentError,
    ContractRevert,
    InputError,
    OracleError,
    StoreUnavailable,
    XcrError,
)
from xcr_py.oracle.eip712 import BatchReport, Leaf, MerkleTree, MeteringReport, typed_data
from xcr_py.oracle.keys import OracleQuorum
from xcr_py.oracle.outbox import Batch, BatchMember, Item, Outbox
from xcr_py.oracle.proofs import batch_document, batch_entry, proof_document

__all__ = ["AssetNotPinned", "Mode", "Settler", "classify"]

Mode = Literal["single", "batch"]
R = TypeVar("R", MeteringReport, BatchReport)

_ALREADY = "CarbonReceiptAlreadyIssued"
_BYTES_FIELDS = {"asset_digest", "receipt_digest", "root"}


class AssetNotPinned(OracleError):
    """A ``pending`` row whose asset or receipt is not in the store (cannot be rebuilt)."""


def classify(exc: BaseException) -> tuple[bool, str, tuple[Any, ...]]:
    """``(permanent, error_name, error_args)`` for an exception raised while settling.

    Reverts and bad input are permanent; connection, store and unknown errors are transient
    (retried with backoff, bounded by the retry policy).
    """
    if isinstance(exc, ContractRevert):
        return True, exc.name, tuple(exc.error_args)
    if isinstance(exc, StoreUnavailable | TimeoutError | ConnectionError):
        return False, type(exc).__name__, (str(exc)[:300],)
    if isinstance(exc, ChainError | ContentError):
        return False, type(exc).__name__, (str(exc)[:300],)
    if isinstance(exc, XcrError | ValueError | TypeError | KeyError):
        return True, type(exc).__name__, (str(exc)[:300],)
    return False, type(exc).__name__, (str(exc)[:300],)


def _report(cls: type[R], data: Mapping[str, Any]) -> R:
    names = {f.name for f in fields(cls)}
    values: dict[str, Any] = {k: bytes.fromhex(v[2:]) if k in _BYTES_FIELDS else v
              for k, v in data.items() if k in names}
    return cls(**values)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class Settler:
    """Drives one outbox to the chain. Not thread-safe: one settler per outbox, one thread.

    Other threads may share the chain connection (a tracker's preparer reads credit batches)
    when they hold the same ``chain_lock``, which the settler takes around each row's or
    batch's chain work.

    Args:
        outbox: the durable outbox.
        gateway: the deployment, sending from the submitter key.
        quorum: the oracle keys that sign reports (k of n).
        store: where batch and proof documents are pinned.
        mode: ``"single"`` or ``"batch"``.
        batch_size: most assets per Merkle batch.
        max_delay_s: a partial batch is settled once its oldest asset waited this long.
        owner: owner of batch receipts (default: the submitting account).
        deadline_s: report lifetime; the contract rejects a report after its deadline.
        clock: seconds since the epoch.
        chain_lock: held around each action that talks to the chain.
    """

    def __init__(self, outbox: Outbox, gateway: XcrGateway, quorum: OracleQuorum,
                 store: BlockStore, *, mode: Mode = "batch", batch_size: int = 64,
                 max_delay_s: float = 30.0, owner: str | None = None,
                 deadline_s: int = 86_400, clock: Callable[[], float] = time.time,
                 chain_lock: AbstractContextManager[Any] | None = None) -> None:
        if mode not in ("single", "batch"):
            raise InputError("mode", f"must be 'single' or 'batch', got {mode!r}")
        if batch_size < 1:
            raise InputError("batch_size", f"must be >= 1, got {batch_size}")
        self.outbox = outbox
        self.gateway = gateway
        self.quorum = quorum
        self.store = store
        self.mode: Mode = mode
        self.batch_size = batch_size
        self.max_delay_s = max_delay_s
        self.owner = owner or gateway.sender.address
        self.deadline_s = deadline_s
        self._clock = clock
        self._chain_lock = chain_lock if chain_lock is not None else nullcontext()
        self._domain = gateway.domain
        # Rows this process signed and has not sent yet: they cannot be on chain already.
        self._fresh_items: set[bytes] = set()
        self._fresh_batches: set[int] = set()

    # -- driving ---------------------------------------------------------------------------

    def step(self, *, force: bool = False, limit: int = 512) -> int:
        """One pass over due work; returns how many rows or batches moved.

        ``force`` settles partial batches now (used by ``flush``).
        """
        n = self._resume_pending(limit)
        if self.mode == "single":
            for item in self.outbox.due("pinned", limit):
                n += self._guard_item(item, self._sign_single)
            for state in ("signed", "submitted"):
                for item in self.outbox.due(state, limit):
                    n += self._guard_item(item, self._submit_single)
        else:
            n += self._form_batches(force, limit)
            for batch in self.outbox.due_batches("open", limit):
                n += self._guard_batch(batch, self._sign_batch)
            for state in ("signed", "submitted"):
                for batch in self.outbox.due_batches(state, limit):  # type: ignore[arg-type]
                    n += self._guard_batch(batch, self._submit_batch)
        return n

    def _guard_item(self, item: Item, action: Callable[[Item], None]) -> int:
        try:
            with self._chain_lock:
                action(item)
        except Exception as exc:  # classified and recorded, never swallowed
            permanent, name, args = classify(exc)
            self._fresh_items.discard(item.asset_digest)
            if permanent:
                self.outbox.fail(item.asset_digest, error_name=name, error_args=args)
            else:
                self.outbox.retry_later(item.asset_digest, f"{name}: {args[0] if args else ''}")
            return 0
        return 1

    def _guard_batch(self, batch: Batch, action: Callable[[Batch], None]) -> int:
        try:
            with self._chain_lock:
                action(batch)
        except Exception as exc:
            self._record_batch_error(batch.batch_id, exc)
            return 0
        return 1

    def _record_batch_error(self, batch_id: int, exc: Exception) -> None:
        permanent, name, args = classify(exc)
        self._fresh_batches.discard(batch_id)
        if permanent:
            self.outbox.fail_batch(batch_id, error_name=name, error_args=args)
        else:
            self.outbox.retry_batch_later(batch_id, f"{name}: {args[0] if args else ''}")

    # -- pending (crash between enqueue and pinned) ----------------------------------------

    def _resume_pending(self, limit: int) -> int:
        n = 0
        for item in self.outbox.due("pending", limit):
            n += self._guard_item(item, self._finish_pinning)
        return n

    def _finish_pinning(self, item: Item) -> None:
        """A ``pending`` row left by a crash: its asset and receipt were pinned before enqueue."""
        p = item.payload
        if not (self.store.has(p["asset_cid"]) and self.store.has(p["receipt_cid"])):
            raise AssetNotPinned(f"asset {p['asset_cid']} or receipt {p['receipt_cid']} is "
                                 "missing from the store after a crash")
        data = self.store.get(p["receipt_cid"])
        self.store.pin(p["asset_cid"])
        self.store.pin(p["receipt_cid"])
        self.outbox.mark_pinned(item.asset_digest, asset_cid=p["asset_cid"],
                                receipt_cid=p["receipt_cid"],
                                receipt_digest=hashlib.sha256(data).digest(), receipt_bytes=data)

    # -- single mode -----------------------------------------------------------------------

    def _deadline(self) -> int:
        return int(self._clock()) + self.deadline_s

    def _sign_single(self, item: Item) -> None:
        p = item.payload
        assert item.receipt_digest is not None  # the outbox requires it from pinned on
        report = MeteringReport(
            asset_digest=item.asset_digest, receipt_digest=item.receipt_digest,
            creator=p["creator"], energy_mj=p["energy_mj"],
            intensity_mg_per_kwh=p["intensity_mg_per_kwh"], pue_milli=p["pue_milli"],
            embodied_mg=p["embodied_mg"], gross_mg=p["gross_mg"], ratio_bps=p["ratio_bps"],
            credit_batch=p["credit_batch"], deadline=self._deadline())
        signed = self.quorum.sign_typed_data(typed_data(report, self._domain))
        self.outbox.mark_signed(item.asset_digest, report=report.to_dict(),
                                signatures=[s.signature for s in signed])
        self._fresh_items.add(item.asset_digest)

    def _confirm_from_chain(self, item: Item, token: int) -> bool:
        """Confirm ``item`` if its receipt token already exists; False if it does not."""
        if not self.gateway.receipt_exists(token):
            return False
        record = self.gateway.sender.call(
            lambda: self.gateway.receipts.functions.record(token).call())
        if bytes(record[0]) != item.receipt_digest:
            # Another receipt settled this asset (another worker, another run): not ours.
            raise ContractRevert("AssetAlreadySettled", (token, _hex(bytes(record[0]))))
        self.outbox.mark_confirmed(item.asset_digest, token_id=token,
                                   tx_hash=settling_tx(self.gateway, token))
        return True

    def _submit_single(self, item: Item) -> None:
        assert item.report is not None
        token = asset_token_id(item.asset_digest)
        fresh = item.asset_digest in self._fresh_items and item.state == "signed"
        self._fresh_items.discard(item.asset_digest)
        if not fresh and self._confirm_from_chain(item, token):
            return
        report = _report(MeteringReport, item.report)
        try:
            settled = self.gateway.submit_single(report, item.signatures)
        except ContractRevert as exc:
            if exc.name == _ALREADY and self._confirm_from_chain(item, token):
                return
            raise
        # Sent and mined in one call: nothing happens between "submitted" and "confirmed",
        # so one commit records both (signed -> confirmed with the transaction hash).
        self.outbox.mark_confirmed(item.asset_digest, token_id=settled.token_id,
                                   tx_hash=settled.tx.tx_hash)

    # -- batch mode ------------------------------------------------------------------------

    def _form_batches(self, force: bool, limit: int) -> int:
        waiting = self.outbox.waiting_for_batch(max(limit, self.batch_size * 8))
        groups: dict[tuple[int, int], list[tuple[bytes, float]]] = {}
        for digest, created_at, credit_batch, ratio_bps in waiting:
            groups.setdefault((credit_batch, ratio_bps), []).append((digest, created_at))
        now = self._clock()
        made = 0
        for (credit_batch, ratio_bps), members in groups.items():
            members.sort(key=lambda m: m[1])
            while members and (len(members) >= self.batch_size or force
                               or now - members[0][1] >= self.max_delay_s):
                chunk, members = members[:self.batch_size], members[self.batch_size:]
                made += self._new_batch([digest for digest, _ in chunk], credit_batch,
                                        ratio_bps)
        return made

    def _new_batch(self, digests: list[bytes], credit_batch: int, ratio_bps: int) -> int:
        """Form, sign and record one batch in one outbox commit (signing has no outside
        effect). If that fails, the batch is recorded ``open`` with the error, so the retry
        policy (or the permanent failure) applies as for any batch."""
        try:
            self._sign(self.outbox.members(digests), credit_batch, ratio_bps, None)
        except Exception as exc:
            batch = self.outbox.create_batch(digests)
            self._record_batch_error(batch.batch_id, exc)
            return 0
        return 1

    def _sign_batch(self, batch: Batch) -> None:
        """Sign a batch recorded ``open`` (an earlier attempt failed, or an older outbox)."""
        members = self.outbox.batch_members(batch.batch_id)
        first = self.outbox.get(members[0].asset_digest).payload
        self._sign(members, first["credit_batch"], first["ratio_bps"], batch.batch_id)

    def _sign(self, members: list[BatchMember], credit_batch: int, ratio_bps: int,
              batch_id: int | None) -> None:
        """Tree, proof and batch documents, signed report; recorded on ``batch_id``, or as
        a new signed batch when it is None."""
        leaves = [Leaf(asset_digest=m.asset_digest, receipt_digest=m.receipt_digest,
                       creator=m.creator, energy_mj=m.energy_mj, gross_mg=m.gross_mg)
                  for m in members]
        tree = MerkleTree(leaves)
        root = tree.root
        root_hex = _hex(root)
        proofs = dict(zip((leaf.asset_digest for leaf in leaves), tree.proofs(), strict=True))
        entries = []
        energy = sum(leaf.energy_mj for leaf in leaves)
        gross = sum(leaf.gross_mg for leaf in leaves)
        # One durability point for every proof and the batch document, before the outbox
        # commits their CIDs.
        with self.store.deferred_sync():
            for index, (member, leaf) in enumerate(zip(members, leaves, strict=True)):
                proof_doc = proof_document(root_hex, index, member.asset_cid,
                                           member.receipt_cid, leaf, proofs[leaf.asset_digest])
                proof_cid = cid_text(self.store.put_bytes_binary(proof_doc))
                entries.append(batch_entry(leaf, member.asset_cid, member.receipt_cid,
                                           proof_cid))
            data = batch_document(chain_id=self._domain.chain_id,
                                  controller=self.gateway.deployment.controller, root=root_hex,
                                  energy_mj=energy, gross_mg=gross, ratio_bps=ratio_bps,
                                  credit_batch=credit_batch, entries=entries)
            doc_cid = cid_text(self.store.put_bytes_binary(data))
        report = BatchReport(root=root, receipt_digest=hashlib.sha256(data).digest(),
                             owner=self.owner, leaf_count=len(leaves), energy_mj=energy,
                             gross_mg=gross, ratio_bps=ratio_bps, credit_batch=credit_batch,
                             deadline=self._deadline())
        signed = self.quorum.sign_typed_data(typed_data(report, self._domain))
        stored = {**report.to_dict(), "doc_cid": doc_cid,
                  "token_id": str(batch_token_id(root)),
                  "proof_cids": [e.proof_cid for e in entries]}
        signatures = [s.signature for s in signed]
        if batch_id is None:
            batch_id = self.outbox.create_signed_batch(
                [m.asset_digest for m in members], root=root, report=stored,
                signatures=signatures, proofs=proofs).batch_id
        else:
            self.outbox.sign_batch(batch_id, root=root, report=stored, signatures=signatures,
                                   proofs=proofs)
        self._fresh_batches.add(batch_id)

    def _submit_batch(self, batch: Batch) -> None:
        assert batch.report is not None
        token = int(batch.report["token_id"])
        fresh = batch.batch_id in self._fresh_batches and batch.state == "signed"
        self._fresh_batches.discard(batch.batch_id)
        if not fresh and self.gateway.receipt_exists(token):
            self.outbox.confirm_batch(batch.batch_id, token_id=token,
                                      tx_hash=settling_tx(self.gateway, token))
            return
        report = _report(BatchReport, batch.report)
        try:
            settled = self.gateway.submit_batch(report, batch.signatures)
        except ContractRevert as exc:
            if exc.name == _ALREADY and self.gateway.receipt_exists(token):
                self.outbox.confirm_batch(batch.batch_id, token_id=token,
                                          tx_hash=settling_tx(self.gateway, token))
                return
            raise
        # Sent and mined in one call: one commit records both (signed -> confirmed with the
        # transaction hash). The chain's token id is the truth; it equals ``token`` (tests
        # pin the derivation).
        self.outbox.confirm_batch(batch.batch_id, token_id=settled.token_id,
                                  tx_hash=settled.tx.tx_hash)
