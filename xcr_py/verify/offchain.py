"""Off-chain steps: label -> original bytes -> asset CID -> receipt -> recomputed footprint.

Nothing stated is taken on trust: the asset CID is recomputed from the bytes, the receipt's CID
and digest from its bytes, and the footprint from the receipt's factors with
:mod:`xcr_py.units` (the same integer arithmetic the contract runs).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xcr_py import units
from xcr_py.content.canonical import canonical_json
from xcr_py.content.cid import bytes_cid
from xcr_py.content.store import BlockStore
from xcr_py.embed.files import LabelledAsset, read_label
from xcr_py.errors import XcrError
from xcr_py.receipt import Receipt, parse_receipt
from xcr_py.receipt.model import j_to_mj, value_to_milli
from xcr_py.verify.verdict import Number

__all__ = [
    "Failed",
    "Footprint",
    "OffChain",
    "asset_cid_step",
    "check_receipt_schema",
    "fetch_receipt",
    "read_asset",
    "receipt_names_asset",
    "recompute_footprint",
]


class Failed(Exception):
    """A step's check did not hold (internal: becomes a failed :class:`Step`)."""

    def __init__(self, details: str, numbers: tuple[Number, ...] = ()) -> None:
        super().__init__(details)
        self.details = details
        self.numbers = numbers


def _n(name: str, value: int | str, unit: str, source: str, method: str) -> Number:
    return Number(name, value, unit, source, method)


@dataclass(frozen=True)
class Footprint:
    """The footprint recomputed from a receipt's factors (units: mJ, mg/kWh, thousandths, mg)."""

    energy_mj: int
    intensity_mg_per_kwh: int
    pue_milli: int
    embodied_mg: int
    gross_mg: int
    ratio_bps: int
    required_mg: int


@dataclass
class OffChain:
    """What the off-chain steps established (filled step by step)."""

    asset: LabelledAsset | None = None
    asset_cid: str = ""
    asset_digest: bytes = b""
    receipt_bytes: bytes = b""
    receipt_digest: bytes = b""
    doc: dict[str, Any] | None = None
    footprint: Footprint | None = None
    receipt: Receipt | None = None


def read_asset(path: Path, state: OffChain) -> tuple[str, tuple[Number, ...]]:
    """Step ``label``: read the label (embedded segment or sidecar)."""
    try:
        asset = read_label(path, check_sidecar=False)
    except XcrError as exc:
        raise Failed(f"no readable XCR label: {exc}") from None
    state.asset = asset
    lab = asset.label
    return (f"{asset.carrier} label: receipt {lab.receipt_cid}, chain {lab.chain_id}, "
            f"contract {lab.receipt_contract}, token {lab.token_id}"), (
        _n("label.gross", lab.gross_mg, "mg CO2e", "label", "stated"),
        _n("label.removed", lab.removed_mg, "mg CO2e", "label", "stated"),
        _n("label.ratio", lab.ratio_bps, "bps", "label", "stated"),
        _n("label.token_id", str(lab.token_id), "token id", "label", "stated"),
    )


def asset_cid_step(state: OffChain) -> tuple[str, tuple[Number, ...]]:
    """Step ``asset_cid``: the bytes as rendered (label segment removed) and their CID."""
    assert state.asset is not None
    original = state.asset.original
    cid = bytes_cid(original)
    state.asset_cid = str(cid)
    state.asset_digest = bytes(cid.raw_digest)
    how = ("label segment removed" if state.asset.carrier == "embedded"
           else "whole file (sidecar label)")
    return f"original bytes recovered ({how}); CIDv1 {cid}", (
        _n("asset.bytes", len(original), "bytes", "file", "recomputed"),
        _n("asset.cid", str(cid), "CIDv1", "file bytes", "recomputed"),
    )


def fetch_receipt(store: BlockStore, state: OffChain) -> tuple[str, tuple[Number, ...]]:
    """Step ``receipt``: fetch by the label's CID, recompute CID and digest, canonical JSON."""
    assert state.asset is not None
    wanted = state.asset.label.receipt_cid
    try:
        data = store.get(wanted)
    except XcrError as exc:
        raise Failed(f"receipt {wanted} not retrievable from {store!r}: "
                     f"{type(exc).__name__}: {exc}") from None
    got = str(bytes_cid(data))
    if got != wanted:
        raise Failed(f"store returned bytes whose CID is {got}, label names {wanted}")
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Failed(f"receipt bytes are not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise Failed("receipt is not a JSON object")
    try:
        canonical = canonical_json(doc, root="receipt")
    except (XcrError, ValueError, TypeError) as exc:
        raise Failed(f"receipt cannot be canonically encoded ({exc})") from None
    if canonical != data:
        raise Failed("receipt bytes are not in canonical form (digest would be ambiguous)")
    state.receipt_bytes, state.doc = data, doc
    state.receipt_digest = hashlib.sha256(data).digest()
    return f"fetched {len(data)} bytes, CID recomputed {got}", (
        _n("receipt.cid", got, "CIDv1", "receipt bytes", "recomputed"),
        _n("receipt.digest", "0x" + state.receipt_digest.hex(), "sha256", "receipt bytes",
           "recomputed"),
    )


def _get(doc: dict[str, Any], dotted: str) -> Any:
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise Failed(f"receipt has no {dotted}")
        node = node[part]
    return node


def receipt_names_asset(state: OffChain) -> tuple[str, tuple[Number, ...]]:
    """Step ``receipt_asset``: the receipt names this asset (CID, sha256 when small, size)."""
    assert state.doc is not None and state.asset is not None
    stated = _get(state.doc, "asset.cid")
    if stated != state.asset_cid:
        raise Failed(f"receipt names asset {stated}, the file's bytes are {state.asset_cid}")
    size = len(state.asset.original)
    if _get(state.doc, "asset.bytes") != size:
        raise Failed(f"receipt says {_get(state.doc, 'asset.bytes')} bytes, file has {size}")
    sha = hashlib.sha256(state.asset.original).hexdigest()
    if _get(state.doc, "asset.sha256") != sha:
        raise Failed("receipt's asset.sha256 differs from the file's")
    return f"receipt names asset {stated} ({size} bytes, sha256 matches)", (
        _n("asset.cid", stated, "CIDv1", "receipt", "stated"),
    )


def _milli(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Failed(f"receipt {field} is not a number")
    try:
        return value_to_milli(float(value))
    except ValueError as exc:
        raise Failed(f"receipt {field}: {exc}") from None


def recompute_footprint(state: OffChain) -> tuple[str, tuple[Number, ...]]:
    """Step ``footprint``: gross and required removal from the factors, versus stated."""
    assert state.doc is not None and state.asset is not None
    doc = state.doc
    gpu_j, cpu_j = _get(doc, "energy.gpu_j"), _get(doc, "energy.cpu_j")
    for name, v in (("energy.gpu_j", gpu_j), ("energy.cpu_j", cpu_j)):
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
            raise Failed(f"receipt {name} is not a non-negative number")
    energy = j_to_mj(gpu_j, cpu_j)
    intensity = _milli(_get(doc, "factors.intensity.value"), "factors.intensity.value")
    pue = _milli(_get(doc, "factors.pue.value"), "factors.pue.value")
    embodied = _milli(_get(doc, "factors.embodied.value"), "factors.embodied.value")
    ratio = _get(doc, "removal.ratio_bps")
    if isinstance(ratio, bool) or not isinstance(ratio, int) or ratio < units.MIN_RATIO_BPS:
        raise Failed(f"receipt removal.ratio_bps must be an integer >= {units.MIN_RATIO_BPS}")
    if pue < units.PUE_SCALE:
        raise Failed(f"PUE {pue / 1000} is below 1")
    gross = units.gross_emissions_mg(energy, intensity, pue, embodied)
    required = units.required_removal_mg(gross, ratio)
    fp = Footprint(energy, intensity, pue, embodied, gross, ratio, required)
    f_method = {k: str(_get(doc, f"factors.{k}.method")) for k in ("intensity", "pue", "embodied")}
    f_source = {k: str(_get(doc, f"factors.{k}.source")) for k in ("intensity", "pue", "embodied")}
    numbers = (
        _n("energy", energy, "mJ", "receipt energy.gpu_j + cpu_j",
           str(_get(doc, "energy.method"))),
        _n("intensity", intensity, "mg CO2e/kWh", f_source["intensity"], f_method["intensity"]),
        _n("pue", pue, "thousandths", f_source["pue"], f_method["pue"]),
        _n("embodied", embodied, "mg CO2e", f_source["embodied"], f_method["embodied"]),
        _n("gross", gross, "mg CO2e", "xcr_py.units.gross_emissions_mg", "recomputed"),
        _n("required_removal", required, "mg CO2e", "xcr_py.units.required_removal_mg",
           "recomputed"),
    )
    stated = {
        "emissions.energy_mj": (_get(doc, "emissions.energy_mj"), energy),
        "emissions.intensity_mg_per_kwh": (_get(doc, "emissions.intensity_mg_per_kwh"),
                                           intensity),
        "emissions.pue_milli": (_get(doc, "emissions.pue_milli"), pue),
        "emissions.embodied_mg": (_get(doc, "emissions.embodied_mg"), embodied),
        "emissions.gross_mg": (_get(doc, "emissions.gross_mg"), gross),
        "removal.required_mg": (_get(doc, "removal.required_mg"), required),
        "label.gross_mg": (state.asset.label.gross_mg, gross),
        "label.ratio_bps": (state.asset.label.ratio_bps, ratio),
    }
    for field, (got, want) in stated.items():
        if got != want:
            raise Failed(f"{field} states {got}, recomputed from the factors: {want}", numbers)
    gross_g = _get(doc, "emissions.gross_g")
    if not isinstance(gross_g, int | float) or gross_g * 1000 != gross:
        raise Failed(f"emissions.gross_g states {gross_g}, recomputed {gross / 1000}", numbers)
    state.footprint = fp
    return (f"gross {gross} mg = ceil({energy} mJ x {pue}/1000 x {intensity} mg/kWh) + "
            f"{embodied} mg; required {required} mg at {ratio} bps"), numbers


def check_receipt_schema(state: OffChain) -> tuple[str, tuple[Number, ...]]:
    """Step ``receipt_schema``: the whole document validates against ``xcr.receipt/1``."""
    try:
        state.receipt = parse_receipt(state.receipt_bytes, canonical=True)
    except XcrError as exc:
        raise Failed(f"receipt does not validate: {exc}") from None
    return "receipt validates against xcr.receipt/1 (schema and arithmetic)", ()
