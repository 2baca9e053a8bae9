"""The documents a Merkle batch pins: one proof per asset (``xcr.proof/1``) and the batch
(``xcr.batch/1``), as canonical JSON.

A batch of N assets writes N proof documents and one document listing N entries, so both are
written from fixed templates (members in canonical order, strings escaped by the C JSON
escaper, which JCS agrees with) rather than through the general encoder, at a fraction of its
cost. Tests compare every byte with :func:`~xcr_py.content.canonical.canonical_json` of
:func:`proof_fields` / :func:`batch_fields`; anything the escaper cannot write as UTF-8 (a lone
surrogate) goes to ``canonical_json``, which names the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from xcr_py.content.canonical import canonical_json
from xcr_py.oracle.eip712 import Leaf

__all__ = ["BatchEntry", "batch_document", "batch_entry", "batch_fields", "proof_document",
           "proof_fields"]

PROOF_SCHEMA = "xcr.proof/1"
BATCH_SCHEMA = "xcr.batch/1"


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _hex(value: bytes) -> str:
    return '"0x' + value.hex() + '"'


def leaf_fields(leaf: Leaf) -> dict[str, Any]:
    """A leaf as the documents show it (digests as 0x-hex)."""
    return {"asset_digest": "0x" + leaf.asset_digest.hex(),
            "receipt_digest": "0x" + leaf.receipt_digest.hex(), "creator": leaf.creator,
            "energy_mj": leaf.energy_mj, "gross_mg": leaf.gross_mg}


def proof_fields(root: str, leaf_index: int, asset_cid: str | None, receipt_cid: str | None,
                 leaf: Leaf, proof: Sequence[bytes]) -> dict[str, Any]:
    """The ``xcr.proof/1`` document of one leaf, as a dict."""
    return {"schema": PROOF_SCHEMA, "root": root, "leaf_index": leaf_index,
            "asset_cid": asset_cid, "receipt_cid": receipt_cid, "leaf": leaf_fields(leaf),
            "proof": ["0x" + node.hex() for node in proof]}


def proof_document(root: str, leaf_index: int, asset_cid: str | None, receipt_cid: str | None,
                   leaf: Leaf, proof: Sequence[bytes]) -> bytes:
    """``canonical_json(proof_fields(...))``: the bytes pinned as the leaf's proof.

    Args:
        root: the Merkle root, 0x-hex.
        proof: the sibling hashes from the leaf up to the root.
    """
    text = (f'{{"asset_cid":{_text(asset_cid)},"leaf":{{"asset_digest":'
            f'{_hex(leaf.asset_digest)},"creator":{_text(leaf.creator)},'
            f'"energy_mj":{leaf.energy_mj},"gross_mg":{leaf.gross_mg},'
            f'"receipt_digest":{_hex(leaf.receipt_digest)}}},"leaf_index":{leaf_index},'
            f'"proof":[{",".join(_hex(node) for node in proof)}],'
            f'"receipt_cid":{_text(receipt_cid)},"root":{_text(root)},'
            f'"schema":"{PROOF_SCHEMA}"}}')
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # canonical_json raises the error naming the field
        return canonical_json(proof_fields(root, leaf_index, asset_cid, receipt_cid, leaf,
                                           proof), root="proof")


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One leaf's entry in the batch document: its fields and their canonical text."""

    fields: dict[str, Any]
    text: str

    @property
    def proof_cid(self) -> str:
        """CID of the leaf's pinned proof document."""
        return str(self.fields["proof_cid"])


def batch_entry(leaf: Leaf, asset_cid: str | None, receipt_cid: str | None,
                proof_cid: str) -> BatchEntry:
    """The batch document's entry for ``leaf``: the leaf, its asset, receipt and proof CIDs."""
    fields = {**leaf_fields(leaf), "asset_cid": asset_cid, "receipt_cid": receipt_cid,
              "proof_cid": proof_cid}
    text = (f'{{"asset_cid":{_text(asset_cid)},"asset_digest":{_hex(leaf.asset_digest)},'
            f'"creator":{_text(leaf.creator)},"energy_mj":{leaf.energy_mj},'
            f'"gross_mg":{leaf.gross_mg},"proof_cid":{_text(proof_cid)},'
            f'"receipt_cid":{_text(receipt_cid)},'
            f'"receipt_digest":{_hex(leaf.receipt_digest)}}}')
    return BatchEntry(fields, text)


def batch_fields(*, chain_id: int, controller: str, root: str, energy_mj: int, gross_mg: int,
                 ratio_bps: int, credit_batch: int, entries: Sequence[BatchEntry],
                 ) -> dict[str, Any]:
    """The ``xcr.batch/1`` document, as a dict."""
    return {"schema": BATCH_SCHEMA, "chain_id": chain_id, "controller": controller,
            "root": root, "leaf_count": len(entries), "energy_mj": energy_mj,
            "gross_mg": gross_mg, "ratio_bps": ratio_bps, "credit_batch": credit_batch,
            "leaves": [e.fields for e in entries]}


def batch_document(*, chain_id: int, controller: str, root: str, energy_mj: int,
                   gross_mg: int, ratio_bps: int, credit_batch: int,
                   entries: Sequence[BatchEntry]) -> bytes:
    """``canonical_json(batch_fields(...))``: the bytes whose sha256 the batch report signs."""
    text = (f'{{"chain_id":{int(chain_id)},"controller":{_text(controller)},'
            f'"credit_batch":{int(credit_batch)},"energy_mj":{int(energy_mj)},'
            f'"gross_mg":{int(gross_mg)},"leaf_count":{len(entries)},'
            f'"leaves":[{",".join(e.text for e in entries)}],"ratio_bps":{int(ratio_bps)},'
            f'"root":{_text(root)},"schema":"{BATCH_SCHEMA}"}}')
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return canonical_json(batch_fields(
            chain_id=chain_id, controller=controller, root=root, energy_mj=energy_mj,
            gross_mg=gross_mg, ratio_bps=ratio_bps, credit_batch=credit_batch,
            entries=entries), root="batch")
