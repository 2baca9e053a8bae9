"""The report document (``xcr.report/1``): totals, per-asset rows, retirements, methodology.

Every figure is a quantity ``{value, unit, source, method}``. Removals are reported beside the
gross emissions and never subtracted from them: there is no "net" figure.
"""

from __future__ import annotations

import contextlib
import string
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from xcr_py.chain.gateway import BATCH_BIT
from xcr_py.errors import InputError
from xcr_py.report.collect import CampaignData

__all__ = ["EXPLORER_FIELDS", "explorer_link", "report_document"]

EXPLORER_FIELDS = ("tx_hash", "token_id", "chain_id", "contract", "address")
"""Placeholders a block-explorer URL template may use (see docs/report.md)."""


def explorer_link(template: str | None, **fields: Any) -> str | None:
    """``template`` filled with ``fields``; None without a template or a needed field.

    Placeholders: ``{contract}`` the token contract (CarbonReceipt for receipts, RemovalCredits
    for retirements), ``{token_id}`` (receipt token id, or the credit batch's ERC-1155 id),
    ``{chain_id}``, ``{tx_hash}`` (the settlement transaction), ``{address}`` (token owner or
    retirement beneficiary).
    """
    if template is None:
        return None
    names = {n for _, n, _, _ in string.Formatter().parse(template) if n}
    unknown = names - set(EXPLORER_FIELDS)
    if unknown:
        raise InputError("explorer_url", f"unknown placeholder(s) {sorted(unknown)}; allowed: "
                         f"{list(EXPLORER_FIELDS)}")
    if any(fields.get(n) in (None, "") for n in names):
        return None
    return template.format(**{n: fields[n] for n in names})


def _q(value: Any, unit: str, source: str, method: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "source": source, "method": method}


def _ratio(removed: int, gross: int) -> str:
    return "n/a (no emissions)" if gross == 0 else str(
        (Decimal(removed) / Decimal(gross)).quantize(Decimal("0.0001")))


def _intensity_series(data: CampaignData) -> dict[str, Any]:
    """Applied intensity per campaign hour, and the zone's 2024 hourly data around it."""
    applied: dict[str, int] = {}
    zone = None
    for a in data.assets:
        s = a.receipt.schedule if a.receipt else None
        if s is not None:
            applied[s.hour] = s.intensity_mg_per_kwh
            zone = zone or s.zone
    series: dict[str, Any] = {"zone": zone, "unit": "mg CO2e/kWh", "applied": applied,
                              "reference": [], "reference_source": None}
    if not applied or zone is None:
        return series
    from xcr_py.footprint.hourly import load_zone

    hours = sorted(datetime.strptime(h, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
                   for h in applied)
    first, last = hours[0] - timedelta(hours=12), hours[-1] + timedelta(hours=12)
    try:
        data_series = load_zone(zone)
    except Exception:  # an unknown zone only loses the reference line
        return series
    reference: list[list[Any]] = []
    t = first
    while t <= last and len(reference) < 24 * 31:
        in_data = t if t.year == 2024 else t.replace(year=2024)
        with contextlib.suppress(InputError, ValueError):  # hours outside the data
            reference.append([t.strftime("%Y-%m-%dT%H:00:00Z"), data_series.at(in_data)])
        t += timedelta(hours=1)
    same_year = hours[0].year == 2024
    series["reference"] = reference
    series["reference_source"] = (
        f"{data_series.source} ({'the campaign hours' if same_year else 'the same calendar hours in 2024, for reference'})")  # noqa: E501
    return series


def report_document(data: CampaignData, explorer_url: str | None) -> dict[str, Any]:
    """The JSON-ready report for ``data``; links use ``explorer_url`` (may be None)."""
    receipts_contract = data.contracts["CarbonReceipt"]
    credits_contract = data.contracts["RemovalCredits"]
    rows = []
    energy = gross = measured_energy = 0
    factors: Counter[tuple[str, Any, str, str, str]] = Counter()
    energy_methods: Counter[str] = Counter()
    for a in data.assets:
        r = a.receipt
        failed = a.verdict.failed_step
        row: dict[str, Any] = {
            "file": str(a.path.relative_to(data.folder)),
            "asset_cid": r.asset.cid if r else None, "receipt_cid": a.label.receipt_cid,
            "model": r.asset.model if r else None,
            "media_type": r.asset.media_type if r else None,
            "hour": r.schedule.hour if r and r.schedule else None,
            "zone": r.schedule.zone if r and r.schedule else None,
            "energy_mj": r.emissions.energy_mj if r else None,
            "energy_method": r.energy.method if r else None,
            "intensity_mg_per_kwh": r.emissions.intensity_mg_per_kwh if r else None,
            "pue_milli": r.emissions.pue_milli if r else None,
            "embodied_mg": r.emissions.embodied_mg if r else None,
            "gross_mg": r.emissions.gross_mg if r else None,
            "ratio_bps": r.removal.ratio_bps if r else None,
            "required_mg": r.removal.required_mg if r else None,
            "token_id": str(a.label.token_id),
            "mode": "batch" if a.label.token_id & BATCH_BIT else "single",
            "retirement_id": a.token.retirement_id if a.token else None,
            "verified": a.verdict.ok,
            "failed_step": failed.name if failed else None,
            "settling_tx": a.settling_tx,
            "token_url": explorer_link(explorer_url, contract=receipts_contract,
                                       token_id=a.label.token_id, chain_id=data.chain_id,
                                       tx_hash=a.settling_tx,
                                       address=a.token.owner if a.token else None),
        }
        rows.append(row)
        if r is None:
            continue
        energy += r.emissions.energy_mj
        gross += r.emissions.gross_mg
        energy_methods[r.energy.method] += 1
        if r.energy.method == "measured":
            measured_energy += r.emissions.energy_mj
        for name in ("intensity", "pue", "embodied"):
            f = getattr(r.factors, name)
            factors[(name, f.value, f.unit, f.source, f.method)] += 1
    removed = sum(e.retirement.grams * 1000 for e in data.retirements.values())
    retirements = []
    for rid, e in sorted(data.retirements.items()):
        b = e.credit
        retirements.append({
            "retirement_id": rid, "status": e.retirement.status.name.lower(),
            "removed": _q(e.retirement.grams, "g CO2e", "RemovalCredits.retirement", "on-chain"),
            "credit_batch": b.batch_id, "registry": b.registry, "project": b.project_id,
            "method": b.method.name, "permanence_years": b.permanence_years,
            "vintage": b.vintage, "serial_range": b.serial_range,
            "certificate": e.retirement.certificate or None,
            "beneficiary": e.retirement.beneficiary,
            "token_ids": [str(t) for t in e.token_ids], "settling_tx": e.settling_tx,
            "url": explorer_link(explorer_url, contract=credits_contract, token_id=b.batch_id,
                                 chain_id=data.chain_id, tx_hash=e.settling_tx,
                                 address=e.retirement.beneficiary),
        })
    share = (Decimal(measured_energy) / Decimal(energy)).quantize(Decimal("0.0001")) \
        if energy else Decimal(0)
    sums = "sum over the campaign's receipts (integers checked by xcr_py.units)"
    totals = {
        "assets": len(data.assets),
        "verified": sum(1 for a in data.assets if a.verdict.ok),
        "energy": _q(energy, "mJ", sums, "derived"),
        "gross": _q(gross, "mg CO2e", sums, "derived"),
        "removed": _q(removed, "mg CO2e", "sum of distinct on-chain retirements", "on-chain"),
        "ratio": _q(_ratio(removed, gross), "removed / gross",
                    "removed and gross above", "derived"),
        "measured_share": _q(str(share), "fraction of energy",
                             "receipts' energy.method", "derived"),
        "estimated_share": _q(str(Decimal(1) - share if energy else Decimal(0)),
                              "fraction of energy", "receipts' energy.method", "derived"),
        "energy_methods": dict(energy_methods),
    }
    methodology = [
        {"factor": name, "value": value, "unit": unit, "source": source, "method": method,
         "assets": count}
        for (name, value, unit, source, method), count in sorted(
            factors.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))
    ]
    return {
        "schema": "xcr.report/1",
        "campaign": data.folder.name,
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "chain_id": data.chain_id,
        "contracts": data.contracts,
        "totals": totals,
        "assets": rows,
        "retirements": retirements,
        "methodology": methodology,
        "intensity": _intensity_series(data),
        "skipped_files": data.skipped,
    }
