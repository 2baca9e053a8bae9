"""Render the report document as self-contained HTML (inline CSS and SVG, no script) and CSV."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from html import escape
from typing import Any

from xcr_py.report import svg

__all__ = ["CSV_COLUMNS", "render_csv", "render_html"]

CSV_COLUMNS = ("file", "asset_cid", "receipt_cid", "model", "media_type", "hour", "zone",
               "energy_mj", "energy_method", "intensity_mg_per_kwh", "pue_milli", "embodied_mg",
               "gross_mg", "ratio_bps", "required_mg", "mode", "token_id", "retirement_id",
               "settling_tx", "verified", "failed_step", "token_url")
"""Per-asset CSV columns; the unit is in each numeric column's name."""

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
max-width:1100px}h1{margin-bottom:4px}h2{border-bottom:1px solid #ccc;padding-bottom:4px;
margin-top:32px}table{border-collapse:collapse;font-size:12px;width:100%}
td,th{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ccc;border-radius:6px;
padding:10px 14px;min-width:150px}.card b{display:block;font-size:20px}
.gross b{color:#b5473a}.removed b{color:#2f7d4f}.plots{display:flex;flex-wrap:wrap;gap:12px}
.ok{color:#2f7d4f}.bad{color:#b5473a;font-weight:bold}code{font-size:11px;word-break:break-all}
.note{color:#555;font-size:13px}
"""


def _short(value: str, keep: int = 10) -> str:
    return value if len(value) <= 2 * keep + 1 else f"{value[:keep]}…{value[-keep:]}"


def _link(text: str, url: str | None, title: str = "") -> str:
    t = f' title="{escape(title)}"' if title else ""
    if url:
        return f'<a href="{escape(url)}"{t}>{escape(text)}</a>'
    return f"<span{t}>{escape(text)}</span>"


def _num(value: Any) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else escape(str(value))


def _plots(doc: dict[str, Any]) -> list[str]:
    assets = doc["assets"]
    labels = [a["file"].rsplit(".", 1)[0][-14:] for a in assets]
    required = [float(a["required_mg"] or 0) for a in assets]
    plots = [svg.bar_chart(
        "Emissions per asset (removal owed beside it)", labels,
        [("gross emissions", [float(a["gross_mg"] or 0) for a in assets]),
         ("removal owed (ratio x gross)", required)],
        "mg CO2e", "asset")]
    energies = [float(a["energy_mj"] or 0) / 1000 for a in assets]
    plots.append(svg.histogram("Energy per asset (distribution)", energies,
                               min(8, max(1, len(energies))), "assets", "IT energy, J"))
    grams: dict[str, float] = defaultdict(float)
    for r in doc["retirements"]:
        grams[f"{r['project']} · {r['method']}"] += r["removed"]["value"]
    plots.append(svg.horizontal_bars("Removal retired by project and method",
                                     sorted(grams.items()), "g CO2e retired"))
    series = doc["intensity"]
    applied = series["applied"]
    if series["reference"]:
        points = [(h[11:16] if i else h[:16].replace("T", " "), float(v))
                  for i, (h, v) in enumerate(series["reference"])]
        index = {h: i for i, (h, _) in enumerate(series["reference"])}
        markers = [(index[h], float(v)) for h, v in applied.items() if h in index]
    else:
        points = [(lab, float(a["intensity_mg_per_kwh"] or 0)) for lab, a in zip(
            labels, assets, strict=True)]
        markers = [(i, v) for i, (_, v) in enumerate(points)]
    zone = series["zone"] or "as applied"
    plots.append(svg.line_chart(f"Grid intensity over the campaign's hours ({zone})", points,
                                markers, "mg CO2e/kWh", "UTC hour"))
    return plots


def render_html(doc: dict[str, Any]) -> str:
    """The self-contained HTML page for a report document."""
    t = doc["totals"]
    out = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>XCR "
           f"campaign report: {escape(doc['campaign'])}</title><style>{_CSS}</style></head><body>",
           f"<h1>Campaign report: {escape(doc['campaign'])}</h1>",
           f"<p class=\"note\">Generated {escape(doc['generated'])} · chain "
           f"{doc['chain_id']} · receipts <code>{escape(doc['contracts']['CarbonReceipt'])}"
           f"</code> · credits <code>{escape(doc['contracts']['RemovalCredits'])}</code></p>",
           "<h2>Totals</h2><div class=\"cards\">"]
    cards = [("Assets", f"{t['assets']}", f"{t['verified']} verified", ""),
             ("Energy", f"{t['energy']['value'] / 1000:,.3f} J", "IT energy", ""),
             ("Gross emissions", f"{t['gross']['value']:,} mg CO2e", "never reduced", "gross"),
             ("Removed", f"{t['removed']['value']:,} mg CO2e", "retired on chain", "removed"),
             ("Ratio", t["ratio"]["value"], "removed / gross", ""),
             ("Measured energy", t["measured_share"]["value"],
              f"estimated {t['estimated_share']['value']}", "")]
    for title, value, sub, cls in cards:
        out.append(f'<div class="card {cls}">{escape(title)}<b>{escape(value)}</b>'
                   f"<small>{escape(sub)}</small></div>")
    out.append("</div><p class=\"note\">Removals are shown beside the gross emissions; they "
               "never reduce the gross figure. Each asset's figures are re-derived by "
               "<code>xcr verify</code>.</p>")
    out.append("<h2>Plots</h2><div class=\"plots\">" + "".join(_plots(doc)) + "</div>")
    out.append("<h2>Assets</h2><table><tr><th>file</th><th>asset</th><th>energy mJ</th>"
               "<th>method</th><th>intensity mg/kWh</th><th>gross mg CO2e</th>"
               "<th>removal owed mg</th><th>token</th><th>retirement</th><th>verified</th></tr>")
    for a in doc["assets"]:
        ver = ('<span class="ok">pass</span>' if a["verified"] else
               f'<span class="bad">fail: {escape(str(a["failed_step"]))}</span>')
        token = f"{a['mode']} {_short(a['token_id'], 6)}"
        out.append(f"<tr><td>{escape(a['file'])}</td><td><code>"
                   f"{escape(_short(a['asset_cid'] or ''))}</code></td>"
                   f"<td class=n>{_num(a['energy_mj'])}</td><td>{escape(str(a['energy_method']))}"
                   f"</td><td class=n>{_num(a['intensity_mg_per_kwh'])}</td>"
                   f"<td class=n>{_num(a['gross_mg'])}</td><td class=n>{_num(a['required_mg'])}"
                   f"</td><td>{_link(token, a['token_url'], a['token_id'])}</td>"
                   f"<td class=n>{_num(a['retirement_id'])}</td><td>{ver}</td></tr>")
    out.append("</table><h2>Retirements</h2><table><tr><th>id</th><th>status</th>"
               "<th>g CO2e</th><th>registry · project</th><th>method</th><th>permanence</th>"
               "<th>vintage</th><th>serials</th><th>receipt tokens</th><th>certificate</th></tr>")
    for r in doc["retirements"]:
        out.append(f"<tr><td>{_link(str(r['retirement_id']), r['url'])}</td>"
                   f"<td>{escape(r['status'])}</td><td class=n>{_num(r['removed']['value'])}</td>"
                   f"<td>{escape(r['registry'])} · {escape(r['project'])} (batch "
                   f"{r['credit_batch']})</td><td>{escape(r['method'])}</td>"
                   f"<td>{r['permanence_years']} years</td><td>{r['vintage']}</td>"
                   f"<td>{escape(r['serial_range'])}</td><td>{len(r['token_ids'])}</td>"
                   f"<td>{escape(r['certificate'] or 'pending')}</td></tr>")
    out.append("</table><h2>Methodology</h2><p>Gross emissions per asset follow the Green "
               "Software Foundation SCI: operational O = E &times; PUE &times; I plus the "
               "embodied share M, "
               "computed in exact integers (energy mJ, intensity mg/kWh, PUE thousandths, "
               "rounding up) exactly as the contract recomputes them. Removal owed = "
               "ceil(gross &times; ratio). Credits are retired only from removal methods with "
               "permanence at or above the policy minimum.</p><table><tr><th>factor</th>"
               "<th>value</th><th>unit</th><th>method</th><th>source</th><th>assets</th></tr>")
    for f in doc["methodology"]:
        out.append(f"<tr><td>{escape(f['factor'])}</td><td class=n>{escape(str(f['value']))}"
                   f"</td><td>{escape(f['unit'])}</td><td>{escape(f['method'])}</td>"
                   f"<td>{escape(f['source'])}</td><td class=n>{f['assets']}</td></tr>")
    methods = ", ".join(f"{k}: {v}" for k, v in t["energy_methods"].items())
    ref = doc["intensity"]["reference_source"]
    out.append(f"</table><p class=\"note\">Energy methods: {escape(methods)}."
               + (f" Intensity reference line: {escape(ref)}." if ref else "")
               + "</p></body></html>")
    return "".join(out)


def render_csv(doc: dict[str, Any]) -> str:
    """One row per asset, :data:`CSV_COLUMNS`."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in doc["assets"]:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})
    return buf.getvalue()
