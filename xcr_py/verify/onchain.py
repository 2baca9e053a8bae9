"""On-chain steps: the receipt token, its retirement and, in batch mode, the Merkle inclusion.

Reads only contract views. Single mode: the label names the asset's own token (the asset
digest with the top bit cleared). Batch mode: the label names the batch token (Merkle root
with the top bit set); the batch document is found in the store by the token's receipt digest
(its raw CIDv1, which ``tokenURI`` also shows), the asset's leaf in it, and its proof checked
off chain (:func:`xcr_py.oracle.eip712.verify_proof`) and on chain (``verifyAsset``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from multiformats import CID, multihash

from xcr_py import units
from xcr_py.chain.gateway import (
    BATCH_BIT,
    CreditBatch,
    Receipt,
    RemovalMethod,
    Retirement,
    RetirementStatus,
    XcrGateway,
    asset_token_id,
)
from xcr_py.client.credit import method_name
from xcr_py.content.store import BlockStore
from xcr_py.errors import XcrError
from xcr_py.oracle.eip712 import Leaf, MerkleTree, verify_proof
from xcr_py.verify.offchain import Failed, OffChain
from xcr_py.verify.verdict import Number

__all__ = ["OnChain", "batch_document", "batch_leaf", "batch_totals", "inclusion_proof",
           "read_retirement", "read_token"]


def _n(name: str, value: int | str, unit: str, source: str, method: str = "on-chain") -> Number:
    return Number(name, value, unit, source, method)


@dataclass
class OnChain:
    """What the on-chain steps established."""

    token: Receipt | None = None
    retirement: Retirement | None = None
    credit: CreditBatch | None = None
    root: bytes = b""
    batch_doc: dict[str, Any] | None = None
    leaf: Leaf | None = None
    proof_cid: str = ""


def _raw_cid(digest: bytes) -> str:
    """Raw-codec CIDv1 (sha2-256) of a digest, as the contract's ``tokenURI`` spells it."""
    return str(CID("base32", 1, "raw", multihash.wrap(digest, "sha2-256")))


def _call(what: str, fn: Any) -> Any:
    try:
        return fn()
    except XcrError as exc:
        raise Failed(f"{what} failed: {exc}") from None
    except ValueError as exc:  # e.g. an enum value the contract should never hold
        raise Failed(f"{what} returned a value outside its type: {exc}") from None


def read_token(gw: XcrGateway, off: OffChain, on: OnChain, label_chain_id: int,
               label_contract: str, token_id: int) -> tuple[str, tuple[Number, ...], str]:
    """Step ``token``: exists, locked, digests match, energy and gross equal the recomputed.

    Returns the details, numbers and the mode (``single``, ``batch`` or ``claim``: an asset
    token claimed from a settled batch).
    """
    assert off.footprint is not None
    chain_id = int(gw.w3.eth.chain_id)
    if chain_id != label_chain_id:
        raise Failed(f"connected chain is {chain_id}, the label names chain {label_chain_id}")
    if to_checksum_address(label_contract) != to_checksum_address(gw.deployment.receipts):
        raise Failed(f"label names receipt contract {label_contract}, the deployment's is "
                     f"{gw.deployment.receipts}")
    if not _call("exists()", lambda: gw.receipt_exists(token_id)):
        raise Failed(f"token {token_id} does not exist on chain {chain_id}")
    locked = _call("locked()", lambda: gw.receipts.functions.locked(token_id).call())
    if locked is not True:
        raise Failed(f"token {token_id} is not locked (ERC-5192)")
    token = _call("record()", lambda: gw.receipt(token_id))
    on.token = token
    batch = bool(token_id & BATCH_BIT)
    numbers = (
        _n("token.energy", token.energy_mj, "mJ", "CarbonReceipt.record"),
        _n("token.gross", token.gross_mg, "mg CO2e", "CarbonReceipt.record"),
        _n("token.removed", token.removed_mg, "mg CO2e", "CarbonReceipt.record"),
        _n("token.retirement_id", token.retirement_id, "id", "CarbonReceipt.record"),
    )
    if batch != token.is_batch:
        raise Failed(f"token {token_id}: top bit and the batch flag disagree", numbers)
    uri = f"ipfs://{_raw_cid(token.receipt_digest)}"
    if token.token_uri != uri:
        raise Failed(f"tokenURI is {token.token_uri}, the record's digest gives {uri}", numbers)
    if batch:
        return (f"batch token {token_id} exists, locked, owner {token.owner}, tokenURI {uri}",
                numbers, "batch")
    want_id = asset_token_id(off.asset_digest)
    if token_id != want_id:
        raise Failed(f"label names token {token_id}, this asset's token id is {want_id}",
                     numbers)
    if token.asset_digest != off.asset_digest:
        raise Failed("token's asset digest differs from the file's", numbers)
    if token.receipt_digest != off.receipt_digest:
        raise Failed(f"token's receipt digest 0x{token.receipt_digest.hex()} differs from the "
                     f"fetched receipt's 0x{off.receipt_digest.hex()}", numbers)
    rcid = _raw_cid(off.receipt_digest)
    if token.token_uri != f"ipfs://{rcid}":
        raise Failed(f"tokenURI {token.token_uri} is not ipfs://{rcid}", numbers)
    fp = off.footprint
    if (token.energy_mj, token.gross_mg) != (fp.energy_mj, fp.gross_mg):
        raise Failed(f"token states energy {token.energy_mj} mJ / gross {token.gross_mg} mg, "
                     f"recomputed {fp.energy_mj} mJ / {fp.gross_mg} mg", numbers)
    if token.is_claim:
        # A leaf claimed from a batch: the controller checked its proof when minting; it
        # retires nothing itself and points at the batch's retirement.
        return (f"claimed asset token {token_id} (from a batch) exists, locked, owner "
                f"{token.owner}, digests match"), numbers, "claim"
    if token.removed_mg < fp.required_mg:
        raise Failed(f"token removed {token.removed_mg} mg < required {fp.required_mg} mg",
                     numbers)
    return (f"asset token {token_id} exists, locked, owner {token.owner}, digests match, "
            f"tokenURI {token.token_uri}"), numbers, "single"


def read_retirement(gw: XcrGateway, off: OffChain, on: OnChain, label_status: str,
                    label_removed_mg: int) -> tuple[str, tuple[Number, ...]]:
    """Step ``retirement``: credit batch, project, removal method, permanence, grams, status."""
    assert on.token is not None and off.doc is not None and off.footprint is not None
    r = _call("retirement()", lambda: gw.retirement(on.token.retirement_id))
    on.retirement = r
    credit = off.doc["removal"]["credit"]
    if r.status not in (RetirementStatus.PENDING, RetirementStatus.FINAL):
        raise Failed(f"retirement {r.retirement_id} does not exist (status {r.status.name})")
    b = _call("batch()", lambda: gw.credit_batch(r.batch_id))
    on.credit = b
    policy = _call("policy()", gw.policy)
    min_years = int(policy[1])
    gross = on.token.gross_mg if on.token.is_batch else off.footprint.gross_mg
    ratio = off.footprint.ratio_bps
    required = units.required_removal_mg(gross, ratio)
    numbers = (
        _n("retirement.grams", r.grams, "g CO2e", "RemovalCredits.retirement"),
        _n("required", required, "mg CO2e", "ratio x gross (xcr_py.units)", "recomputed"),
        _n("credit.permanence", b.permanence_years, "years", "RemovalCredits.batch"),
        _n("policy.min_permanence", min_years, "years", "XcrController.policy"),
        _n("credit.vintage", b.vintage, "year", "RemovalCredits.batch"),
    )
    if r.batch_id != credit.get("batch_id"):
        raise Failed(f"retired from credit batch {r.batch_id}, the receipt names "
                     f"{credit.get('batch_id')}", numbers)
    if b.project_id != credit.get("project"):
        raise Failed(f"credit batch project is {b.project_id!r}, the receipt names "
                     f"{credit.get('project')!r}", numbers)
    if not isinstance(b.method, RemovalMethod):
        raise Failed(f"credit method {b.method!r} is not a removal method", numbers)
    if method_name(b.method) != credit.get("method"):
        raise Failed(f"credit batch method is {method_name(b.method)}, the receipt names "
                     f"{credit.get('method')!r}", numbers)
    if b.permanence_years != credit.get("permanence_years"):
        raise Failed(f"credit batch permanence is {b.permanence_years} years, the receipt "
                     f"names {credit.get('permanence_years')}", numbers)
    if b.permanence_years < min_years:
        raise Failed(f"permanence {b.permanence_years} years < policy {min_years} years",
                     numbers)
    if r.grams * 1000 < required:
        raise Failed(f"retired {r.grams} g < ratio {ratio} bps x gross {gross} mg = "
                     f"{required} mg", numbers)
    if not on.token.is_claim and on.token.removed_mg != r.grams * 1000:
        raise Failed(f"token says {on.token.removed_mg} mg removed, retirement holds "
                     f"{r.grams} g", numbers)
    if label_removed_mg > r.grams * 1000:
        raise Failed(f"label claims {label_removed_mg} mg removed, the retirement holds "
                     f"{r.grams * 1000} mg", numbers)
    status = r.status.name.lower()
    if label_status == "final" and r.status != RetirementStatus.FINAL:
        raise Failed("label says the retirement is final; on chain it is pending", numbers)
    return (f"retirement {r.retirement_id}: {r.grams} g from batch {r.batch_id} "
            f"({b.registry} {b.project_id}, {b.method.name}, {b.permanence_years} years), "
            f"{status}"), numbers


def batch_document(gw: XcrGateway, store: BlockStore, on: OnChain,
                   ) -> tuple[str, tuple[Number, ...]]:
    """Step ``batch_document``: from the batch token's digest to the ``xcr.batch/1`` document."""
    assert on.token is not None
    cid = _raw_cid(on.token.receipt_digest)
    try:
        data = store.get(cid)
    except XcrError as exc:
        raise Failed(f"batch document {cid} not retrievable: {exc}") from None
    if hashlib.sha256(data).digest() != on.token.receipt_digest:
        raise Failed("batch document bytes do not hash to the token's receipt digest")
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Failed(f"batch document is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != "xcr.batch/1":
        raise Failed("batch document is not an xcr.batch/1 object")
    root = _call("batchRoot()", lambda: gw.batch_root(on.token.token_id))
    on.root = root
    if doc.get("root") != "0x" + root.hex():
        raise Failed(f"batch document root {doc.get('root')} differs from the chain's "
                     f"0x{root.hex()}")
    if doc.get("chain_id") != int(gw.w3.eth.chain_id) or str(doc.get("controller", "")).lower() \
            != gw.deployment.controller.lower():
        raise Failed("batch document names another chain or controller")
    on.batch_doc = doc
    return f"batch document {cid}: {doc.get('leaf_count')} leaves, root 0x{root.hex()}", (
        _n("batch.leaf_count", int(doc.get("leaf_count", 0)), "assets", "batch document",
           "stated"),
    )


def _leaf_of(entry: dict[str, Any]) -> Leaf:
    try:
        return Leaf(asset_digest=bytes.fromhex(entry["asset_digest"][2:]),
                    receipt_digest=bytes.fromhex(entry["receipt_digest"][2:]),
                    creator=entry["creator"], energy_mj=int(entry["energy_mj"]),
                    gross_mg=int(entry["gross_mg"]))
    except (KeyError, TypeError, ValueError, XcrError) as exc:
        raise Failed(f"malformed leaf in the batch document ({exc})") from None


def batch_leaf(off: OffChain, on: OnChain) -> tuple[str, tuple[Number, ...]]:
    """Step ``batch_leaf``: this asset's leaf names its digest, receipt and recomputed numbers."""
    assert on.batch_doc is not None and off.footprint is not None
    entries = [e for e in on.batch_doc.get("leaves", []) if isinstance(e, dict)
               and e.get("asset_cid") == off.asset_cid]
    if len(entries) != 1:
        raise Failed(f"the batch document lists asset {off.asset_cid} {len(entries)} times "
                     "(expected once)")
    entry = entries[0]
    leaf = _leaf_of(entry)
    numbers = (
        _n("leaf.energy", leaf.energy_mj, "mJ", "batch document", "stated"),
        _n("leaf.gross", leaf.gross_mg, "mg CO2e", "batch document", "stated"),
    )
    if leaf.asset_digest != off.asset_digest:
        raise Failed("leaf's asset digest differs from the file's", numbers)
    if leaf.receipt_digest != off.receipt_digest or entry.get("receipt_cid") != _label_receipt(
            off):
        raise Failed("leaf's receipt digest or CID differs from the fetched receipt", numbers)
    if on.batch_doc.get("ratio_bps") != off.footprint.ratio_bps:
        raise Failed(f"batch ratio {on.batch_doc.get('ratio_bps')} bps differs from the "
                     f"receipt's {off.footprint.ratio_bps} bps", numbers)
    fp = off.footprint
    if (leaf.energy_mj, leaf.gross_mg) != (fp.energy_mj, fp.gross_mg):
        raise Failed(f"leaf states {leaf.energy_mj} mJ / {leaf.gross_mg} mg, recomputed "
                     f"{fp.energy_mj} mJ / {fp.gross_mg} mg", numbers)
    on.leaf, on.proof_cid = leaf, str(entry.get("proof_cid", ""))
    return f"leaf found: asset {off.asset_cid}, receipt matches, numbers recomputed", numbers


def _label_receipt(off: OffChain) -> str:
    assert off.asset is not None
    return off.asset.label.receipt_cid


def inclusion_proof(gw: XcrGateway, store: BlockStore, on: OnChain,
                    ) -> tuple[str, tuple[Number, ...]]:
    """Step ``inclusion_proof``: the leaf's proof, checked off chain and by ``verifyAsset``."""
    assert on.leaf is not None and on.token is not None
    try:
        proof_doc = store.get_json(on.proof_cid)
    except XcrError as exc:
        raise Failed(f"proof document {on.proof_cid} not retrievable: {exc}") from None
    if not isinstance(proof_doc, dict) or proof_doc.get("schema") != "xcr.proof/1":
        raise Failed("proof document is not an xcr.proof/1 object")
    try:
        proof = [bytes.fromhex(h[2:]) for h in proof_doc["proof"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise Failed(f"malformed proof ({exc})") from None
    if not verify_proof(proof, on.root, on.leaf):
        raise Failed("the proof does not lead from the leaf to the on-chain root (off chain)")
    if not _call("verifyAsset()", lambda: gw.verify_asset(on.token.token_id, on.leaf, proof)):
        raise Failed("verifyAsset returned false on chain")
    return f"proof of {len(proof)} hashes valid off chain and on chain (verifyAsset)", (
        _n("proof.length", len(proof), "hashes", "proof document", "stated"),
    )


def batch_totals(on: OnChain, ratio_bps: int) -> tuple[str, tuple[Number, ...]]:
    """Step ``batch_totals``: leaves rebuild the root; removed >= ratio x sum of gross."""
    assert on.batch_doc is not None and on.token is not None and on.retirement is not None
    leaves = [_leaf_of(e) for e in on.batch_doc.get("leaves", [])]
    total_gross = sum(leaf.gross_mg for leaf in leaves)
    total_energy = sum(leaf.energy_mj for leaf in leaves)
    required = units.required_removal_mg(total_gross, ratio_bps)
    removed = on.retirement.grams * 1000
    numbers = (
        _n("batch.gross", total_gross, "mg CO2e", "sum of the document's leaves", "recomputed"),
        _n("batch.energy", total_energy, "mJ", "sum of the document's leaves", "recomputed"),
        _n("batch.required", required, "mg CO2e", "xcr_py.units.required_removal_mg",
           "recomputed"),
        _n("batch.removed", removed, "mg CO2e", "RemovalCredits.retirement"),
    )
    try:
        root = MerkleTree(leaves).root
    except XcrError as exc:
        raise Failed(f"the document's leaves do not form a tree ({exc})", numbers) from None
    if root != on.root:
        raise Failed("the document's leaves do not rebuild the on-chain root", numbers)
    if len(leaves) != on.batch_doc.get("leaf_count"):
        raise Failed("leaf_count differs from the number of leaves", numbers)
    if (total_gross, total_energy) != (on.token.gross_mg, on.token.energy_mj):
        raise Failed(f"leaves sum to {total_gross} mg / {total_energy} mJ, the batch token "
                     f"states {on.token.gross_mg} mg / {on.token.energy_mj} mJ", numbers)
    if removed < required:
        raise Failed(f"removed {removed} mg < ratio x total gross = {required} mg", numbers)
    return (f"{len(leaves)} leaves rebuild the root; removed {removed} mg >= {required} mg "
            f"(ratio {ratio_bps} bps x {total_gross} mg)"), numbers
