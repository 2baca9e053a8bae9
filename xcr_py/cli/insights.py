"""``xcr insights CAMPAIGN``: energy and emissions per asset by model and settings, what-ifs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from xcr_py.errors import InputError
from xcr_py.insights import DistilledRatio, Insights, campaign_insights
from xcr_py.insights.source import load_campaign

__all__ = ["parse_distilled", "register", "render_insights"]

_DISTILLED = re.compile(r"^(?P<model>[^=]+)=(?P<distilled>[^@]+)@(?P<ratio>[0-9.]+)$")


def parse_distilled(spec: str, source: str | None) -> DistilledRatio:
    """``MODEL=DISTILLED@RATIO`` (e.g. ``sdxl=sdxl-turbo@0.3``) with its measured source."""
    m = _DISTILLED.match(spec.strip())
    if m is None:
        raise InputError("--distilled", f"must look like MODEL=DISTILLED@RATIO, got {spec!r}")
    if not source:
        raise InputError("--ratio-source", "is required with --distilled: say where the ratio "
                         "was measured")
    return DistilledRatio(m["model"].strip(), m["distilled"].strip(), m["ratio"], source)


def _j(value: float) -> str:
    return f"{value:,.1f} J" if value < 1e5 else f"{value / 3.6e6:,.4f} kWh"


def render_insights(ins: Insights, console: Console) -> None:
    """Rich tables: per model, per settings, then the projections (labelled as such)."""
    doc = ins.to_dict()
    share = doc["energy_share"]
    console.print(f"campaign {ins.campaign!r}: {ins.assets} assets, {_j(ins.energy_mj / 1000)},"
                  f" {ins.gross_mg / 1000:,.3f} gCO2e gross; energy measured "
                  f"{share['measured'] * 100:.1f} %, estimated {share['estimated'] * 100:.1f} %"
                  f" (published benchmark {share['estimated (published benchmark)'] * 100:.1f} %)")
    for title, names, groups in (("By model", ("model",), ins.by_model),
                                 ("By settings", ("model", "settings"), ins.by_settings)):
        table = Table(title=title)
        for name in (*names, "assets", "energy / asset", "gCO2e / asset", "estimated"):
            table.add_column(name)
        for g in groups:
            table.add_row(*g.key, str(g.assets), _j(float(g.energy_j_per_asset)),
                          f"{float(g.gross_g_per_asset):.4f}", str(g.estimated_assets))
        console.print(table)
    table = Table(title="What-if (projections, not reductions achieved)")
    for name in ("projection", "assets changed", "projected energy saving",
                 "projected gCO2e saving", "share of energy"):
        table.add_column(name)
    for p in ins.projections:
        table.add_row(f"{p.kind}: {p.description}", str(p.assets_changed),
                      _j(float(p.saving_energy_j)), f"{float(p.saving_gross_g):.4f}",
                      f"{float(p.saving_fraction) * 100:.1f} %")
    console.print(table)


def register(cli: click.Group) -> None:
    """Add ``insights`` to the root group."""

    @cli.command("insights")
    @click.argument("campaign")
    @click.option("--json", "as_json", is_flag=True, help="Print the insights as JSON.")
    @click.option("--config", "config_file", type=click.Path(path_type=Path), default=None,
                  help="xcr.toml (default: XCR_CONFIG or ./xcr.toml).")
    @click.option("--outbox", type=click.Path(path_type=Path), default=None,
                  help="Outbox file (default: <chain.data_dir>/outbox.sqlite).")
    @click.option("--distilled", "distilled", multiple=True, metavar="MODEL=DISTILLED@RATIO",
                  help="Project MODEL's assets at a distilled model's measured energy ratio.")
    @click.option("--ratio-source", default=None,
                  help="Where the --distilled ratio was measured (required with it).")
    def insights_cmd(campaign: str, as_json: bool, config_file: Path | None,
                     outbox: Path | None, distilled: tuple[str, ...],
                     ratio_source: str | None) -> None:
        """Energy and gross emissions per asset of CAMPAIGN, by model and settings, and
        what-if projections (never reductions achieved)."""
        ratios = [parse_distilled(s, ratio_source) for s in distilled]
        get_bytes = None
        if outbox is None or config_file is not None:
            from xcr_py.client.wiring import OUTBOX_FILE
            from xcr_py.config import from_environment
            from xcr_py.content.factory import open_store

            config = from_environment(config_file)
            outbox = outbox or Path(config.chain.data_dir) / OUTBOX_FILE

            def get_bytes(cid: str) -> bytes:
                return open_store(config).get(cid)

        data = load_campaign(outbox, campaign, get_bytes)
        if not data.receipts:
            raise InputError("campaign", f"{campaign!r} has {data.without_receipt} tracked "
                             "assets but none has a receipt yet")
        ins = campaign_insights(data.receipts, data.params, distilled=ratios)
        if as_json:
            doc = ins.to_dict()
            doc["assets_without_receipt"] = data.without_receipt
            click.echo(json.dumps(doc, indent=2, sort_keys=True))
            return
        console = Console(width=160)
        render_insights(ins, console)
        if data.without_receipt:
            console.print(f"{data.without_receipt} tracked assets have no receipt yet")
