"""JSON views of assets, receipt tokens, retirements and campaigns, read through a Backend.

Each view returns plain JSON-ready data (the shapes of :mod:`xcr_py.serve.models`) and whether
it is *final*: a view that can no longer change (its retirement is final on chain) may be cached
forever by clients; a pending one only briefly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from multiformats import CID

from xcr_py.chain.gateway import BATCH_BIT, RetirementStatus
from xcr_py.errors import InputError, XcrError
from xcr_py.receipt import parse_receipt
from xcr_py.receipt.label import ImpactLabel
from xcr_py.serve.backend import Backend, NotFound, Settled, method_words, status_word

__all__ = ["View", "asset_view", "badge_view", "campaign_report_html", "campaign_view",
           "parse_cid", "parse_token_id", "receipt_view", "retirement_view", "verify_view"]

_UINT256 = 2**256


@dataclass(frozen=True)
class View:
    """A JSON document (or text) and whether it is final."""

    body: Any
    final: bool


def _q(value: int | str, unit: str, source: str, method: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "source": source, "method": method}


def parse_cid(text: str, field: str = "cid") -> str:
    """The CID in ``text`` as a base32 CIDv1 string.

    Raises:
        InputError: not a CID.
    """
    try:
        cid = CID.decode(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(field, f"must be a CID (CIDv1 base32, e.g. bafkrei...), got {text!r}"
                         f" ({exc})") from None
    return str(cid.set(version=1, base="base32")) if cid.version == 0 else str(
        cid.set(base="base32"))


def parse_token_id(text: str) -> int:
    """A token id from decimal or ``0x`` hex.

    Raises:
        InputError: not an integer in [0, 2**256).
    """
    try:
        value = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise InputError("token_id", f"must be a decimal or 0x-hex integer, got {text!r}"
                         ) from None
    if not 0 <= value < _UINT256:
        raise InputError("token_id", f"must be in [0, 2**256), got {text}")
    return value


def _links(backend: Backend, *, receipt_cid: str | None = None, token_id: int | None = None,
           retirement_id: int | None = None, asset_cid: str | None = None) -> dict[str, Any]:
    return {
        "receipt_ipfs": f"ipfs://{receipt_cid}" if receipt_cid else None,
        "token_explorer": backend.token_link(token_id) if token_id is not None else None,
        "receipt_api": f"/v1/receipts/{token_id}" if token_id is not None else None,
        "retirement_api": f"/v1/retirements/{retirement_id}" if retirement_id is not None
        else None,
        "asset_api": f"/v1/assets/{asset_cid}" if asset_cid else None,
        "badge": f"/v1/badge/{asset_cid}.svg" if asset_cid else None,
    }


def _verdict_json(verdict: Any, links: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = verdict.to_json()
    doc["links"] = links
    return doc


def _find_asset(backend: Backend, cid: str) -> tuple[str, dict[str, Any], Settled | None]:
    found = backend.index.receipt_for(cid)
    if found is None:
        raise NotFound("asset", f"cid: no receipt in the store names asset {cid}")
    receipt_cid, doc = found
    with backend.lock:
        settled = backend.settlement(cid)
    return receipt_cid, doc, settled


def _label_json(label: ImpactLabel, doc: dict[str, Any], settled: Settled) -> dict[str, Any]:
    energy_method = str(doc["energy"]["method"])
    share = ("the batch retirement's share by gross (rounded down)" if settled.mode == "batch"
             else "the asset's own retirement")
    return {
        "gross": _q(label.gross_mg, "mg CO2e", "receipt emissions.gross_mg", energy_method),
        "removed": _q(label.removed_mg, "mg CO2e",
                      f"RemovalCredits retirement {settled.retirement.retirement_id}, {share}",
                      "on-chain"),
        "ratio": _q(label.ratio_bps, "bps", "receipt removal.ratio_bps", "declared"),
        "permanence": _q(label.permanence_years, "years",
                         f"RemovalCredits batch {settled.credit.batch_id}", "on-chain"),
        "method": label.method,
        "removal_method": label.removal_method,
        "retirement_status": label.retirement_status,
    }


def asset_view(backend: Backend, cid_text: str) -> View:
    """``GET /v1/assets/{cid}``: label data and the stored asset's verification."""
    cid = parse_cid(cid_text)
    receipt_cid, doc, settled = _find_asset(backend, cid)
    asset = doc["asset"]
    links = _links(backend, receipt_cid=receipt_cid, asset_cid=cid,
                   token_id=settled.token_id if settled else None,
                   retirement_id=settled.retirement.retirement_id if settled else None)
    if settled is None:
        verification: dict[str, Any] = {
            "schema": "xcr.verdict/1", "path": f"store:{cid}", "ok": False, "mode": None,
            "failed_step": "token", "steps": [{
                "name": "token", "title": "Receipt token on chain", "result": "fail",
                "details": "no receipt token for this asset (nor a batch listing it) on chain "
                           f"{backend.chain_id}", "numbers": []}]}
        label_json = None
    else:
        label = backend.label(receipt_cid, doc, settled)
        verification = _verdict_json(backend.verify_stored(cid, label), None)
        label_json = _label_json(label, doc, settled)
    body = {
        "cid": cid, "media_type": asset.get("media_type"), "bytes": int(asset.get("bytes", 0)),
        "model": asset.get("model"), "campaign": asset.get("campaign"),
        "receipt_cid": receipt_cid,
        "settlement": None if settled is None else {
            "mode": settled.mode, "chain_id": backend.chain_id,
            "contract": backend.chain.deployment.receipts, "token_id": str(settled.token_id),
            "retirement_id": settled.retirement.retirement_id,
            "retirement_status": status_word(settled.retirement.status),
            "batch_document": settled.batch_cid},
        "label": label_json, "verification": verification, "links": links,
    }
    final = bool(settled and settled.retirement.status == RetirementStatus.FINAL
                 and verification["ok"])
    return View(body, final)


def badge_view(backend: Backend, cid_text: str) -> View:
    """``GET /v1/badge/{cid}.svg``: the badge of the asset's label."""
    from xcr_py.badge import render_svg

    cid = parse_cid(cid_text)
    receipt_cid, doc, settled = _find_asset(backend, cid)
    if settled is None:
        raise NotFound("asset", f"cid: asset {cid} has no receipt token on chain yet")
    label = backend.label(receipt_cid, doc, settled)
    return View(render_svg(label), settled.retirement.status == RetirementStatus.FINAL)


def _credit_json(credit: Any) -> dict[str, Any]:
    return {
        "batch_id": credit.batch_id, "method": method_words(credit.method.name),
        "permanence_years": credit.permanence_years, "vintage": credit.vintage,
        "issued": _q(credit.issued_grams, "g CO2e", f"RemovalCredits.batch({credit.batch_id})",
                     "on-chain"),
        "registry": credit.registry, "project_id": credit.project_id,
        "serial_range": credit.serial_range, "metadata_cid": credit.metadata_cid,
    }


def retirement_view(backend: Backend, retirement_id: int) -> View:
    """``GET /v1/retirements/{id}``."""
    r, credit = backend.retirement(retirement_id)
    body = {
        "retirement_id": r.retirement_id, "beneficiary": r.beneficiary,
        "status": status_word(r.status), "certificate": r.certificate,
        "retired": _q(r.grams, "g CO2e", f"RemovalCredits.retirement({retirement_id})",
                      "on-chain"),
        "credit_batch": _credit_json(credit),
        "links": {**_links(backend, retirement_id=retirement_id),
                  "token_explorer": backend.explorer(
                      contract=backend.chain.deployment.credits, token_id=credit.batch_id,
                      chain_id=backend.chain_id, address=r.beneficiary)},
    }
    return View(body, r.status == RetirementStatus.FINAL)


def receipt_view(backend: Backend, token_text: str) -> View:
    """``GET /v1/receipts/{token_id}``: the token's record and the document it names."""
    token_id = parse_token_id(token_text)
    record, retirement, _credit, locked = backend.token(token_id)
    src = f"CarbonReceipt.record({token_id})"
    document: dict[str, Any] | None = None
    error: str | None = None
    doc_cid = record.token_uri.removeprefix("ipfs://")
    try:
        with backend.lock:
            loaded = backend.store.get_json(doc_cid)
        document = loaded if isinstance(loaded, dict) else None
        if document is None:
            error = "the document is not a JSON object"
    except XcrError as exc:
        error = f"{type(exc).__name__}: {exc}"
    mode = "batch" if token_id & BATCH_BIT else "single"
    body = {
        "token_id": str(token_id), "token_id_hex": hex(token_id), "chain_id": backend.chain_id,
        "contract": backend.chain.deployment.receipts, "owner": record.owner, "locked": locked,
        "mode": mode, "is_claim": record.is_claim, "token_uri": record.token_uri,
        "receipt_digest": "0x" + record.receipt_digest.hex(),
        "asset_digest": "0x" + record.asset_digest.hex() if record.asset_digest else None,
        "energy": _q(record.energy_mj, "mJ", src, "on-chain"),
        "gross": _q(record.gross_mg, "mg CO2e", src, "on-chain"),
        "removed": _q(record.removed_mg, "mg CO2e", src, "on-chain"),
        "retirement_id": record.retirement_id,
        "retirement_status": status_word(retirement.status),
        "minted_at": record.time, "document": document, "document_error": error,
        "links": _links(backend, receipt_cid=doc_cid, token_id=token_id,
                        retirement_id=record.retirement_id),
    }
    return View(body, retirement.status == RetirementStatus.FINAL and document is not None)


def verify_view(backend: Backend, data: bytes, name: str, sidecar: bytes | None) -> View:
    """``POST /v1/verify``: the verdict, with links to what the label names."""
    verdict = backend.verify_bytes(data, name, sidecar)
    links = None
    try:
        label_step = next((s for s in verdict.steps if s.name == "label" and s.ok), None)
        if label_step is not None:
            numbers = {n.name: n.value for n in label_step.numbers}
            token_id = int(str(numbers.get("label.token_id", "")))
            receipt_cid = next((str(n.value) for s in verdict.steps for n in s.numbers
                                if n.name == "receipt.cid"), None)
            cid = next((str(n.value) for s in verdict.steps for n in s.numbers
                        if n.name == "asset.cid"), None)
            retirement = next((int(n.value) for s in verdict.steps for n in s.numbers
                               if n.name == "token.retirement_id"), None)
            links = _links(backend, receipt_cid=receipt_cid, token_id=token_id, asset_cid=cid,
                           retirement_id=retirement)
    except ValueError:
        links = None
    return View(_verdict_json(verdict, links), False)


# --- campaigns ---------------------------------------------------------------------------

def _campaign_data(backend: Backend, name: str) -> Any:
    """The report stage's CampaignData, from the stored assets of campaign ``name``."""
    from xcr_py.report.collect import AssetEntry, CampaignData, RetirementEntry

    cids = backend.index.campaign(name)
    if not cids:
        raise NotFound("campaign", f"id: no stored receipt has campaign {name!r}")
    dep = backend.chain.deployment
    folder = Path(name.replace("/", "_") or "_")
    data = CampaignData(folder, backend.chain_id, {"CarbonReceipt": dep.receipts,
                                                   "RemovalCredits": dep.credits,
                                                   "XcrController": dep.controller})
    for cid in cids:
        receipt_cid, doc, settled = _find_asset(backend, cid)
        if settled is None:
            data.skipped.append(f"{cid} (no receipt token on chain)")
            continue
        label = backend.label(receipt_cid, doc, settled)
        verdict = backend.verify_stored(cid, label)
        try:
            receipt = parse_receipt(backend.store.get(receipt_cid))
        except XcrError:
            receipt = None
        rid = settled.retirement.retirement_id
        entry = data.retirements.get(rid)
        if entry is None:
            data.retirements[rid] = RetirementEntry(settled.retirement, settled.credit,
                                                    (settled.token_id,), None)
        elif settled.token_id not in entry.token_ids:
            data.retirements[rid] = RetirementEntry(
                entry.retirement, entry.credit, (*entry.token_ids, settled.token_id), None)
        data.assets.append(AssetEntry(folder / cid, label, verdict, receipt, settled.token,
                                      None))
    return data


def _report_doc(backend: Backend, name: str) -> dict[str, Any]:
    from xcr_py.report import report_document

    def build() -> dict[str, Any]:
        doc = report_document(_campaign_data(backend, name), backend.config.explorer_url)
        doc["campaign"] = name
        return doc

    return backend.cached(("report", name), build)


def campaign_view(backend: Backend, name: str) -> View:
    """``GET /v1/campaigns/{id}``: totals, per-asset figures and the report's JSON."""
    report = _report_doc(backend, name)
    items = []
    for row in report["assets"]:
        token = int(row["token_id"]) if row.get("token_id") else None
        items.append({
            "cid": row["asset_cid"], "model": row.get("model"),
            "receipt_cid": row["receipt_cid"],
            "energy": _q(row.get("energy_mj") or 0, "mJ", "receipt emissions.energy_mj",
                         str(row.get("energy_method"))),
            "gross": _q(row.get("gross_mg") or 0, "mg CO2e", "receipt emissions.gross_mg",
                        str(row.get("energy_method"))),
            "links": _links(backend, receipt_cid=row["receipt_cid"], token_id=token,
                            retirement_id=row.get("retirement_id"), asset_cid=row["asset_cid"]),
        })
    totals = {k: v for k, v in report["totals"].items() if isinstance(v, dict) and "unit" in v}
    body = {"campaign": name, "assets": report["totals"]["assets"], "totals": totals,
            "energy_methods": report["totals"].get("energy_methods", {}), "items": items,
            "report": report}
    final = all(r["status"] == "final" for r in report["retirements"]) and all(
        row["verified"] for row in report["assets"])
    return View(body, final)


def campaign_report_html(backend: Backend, name: str) -> View:
    """``GET /v1/campaigns/{id}/report``: the self-contained HTML report."""
    from xcr_py.report import render_html

    report = _report_doc(backend, name)
    final = all(r["status"] == "final" for r in report["retirements"])
    return View(render_html(report), final)
