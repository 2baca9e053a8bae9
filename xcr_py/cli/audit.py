"""``xcr audit PIPELINE.toml``: how XCR accounts for each stage of a declared render stack."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from xcr_py.audit import AuditReport, audit_pipeline, load_pipeline
from xcr_py.cloud import load_table

__all__ = ["register", "render_audit"]


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f} %"


def render_audit(report: AuditReport, console: Console) -> None:
    """Print the audit as rich tables: stages, then shares, then what to change."""
    stages = Table(title=f"Pipeline audit: {report.pipeline}")
    for col in ("stage", "kind", "model", "accounted as", "Wh / request (interval)",
                "kWh / day", "share"):
        stages.add_column(col, justify="right" if col in ("kWh / day", "share") else "left")
    for s in report.stages:
        e = s.energy_per_request
        per_req = "unknown" if e is None else \
            f"{float(e.value):.4g} [{float(e.low):.4g}, {float(e.high):.4g}] {e.method}"
        day = "-" if s.energy_per_day_kwh is None else f"{float(s.energy_per_day_kwh):.4g}"
        stages.add_row(s.name, s.kind, s.model, s.accounting, per_req, day, _pct(s.share))
    console.print(stages)
    shares = Table(title="Expected share of emissions (share of expected energy)")
    shares.add_column("accounted as")
    shares.add_column("share", justify="right")
    for bucket, value in report.shares.items():
        shares.add_row(bucket, _pct(value))
    shares.add_row("total expected energy", f"{float(report.total_kwh_per_day):.4g} kWh/day")
    console.print(shares)
    if report.unquantified:
        console.print(f"unquantified (left out of the shares): {', '.join(report.unquantified)}")
    advice = Table(title="What to change to measure more")
    advice.add_column("stage")
    advice.add_column("advice")
    for s in report.stages:
        for line in s.advice:
            advice.add_row(s.name, line)
    if advice.row_count:
        console.print(advice)


def register(cli: click.Group) -> None:
    """Add ``audit`` to the root group."""

    @cli.command("audit")
    @click.argument("pipeline", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON.")
    @click.option("--table", "table_path", type=click.Path(path_type=Path), default=None,
                  help="Cloud inference table JSON (default: the one shipped with XCR).")
    def audit_cmd(pipeline: Path, as_json: bool, table_path: Path | None) -> None:
        """Classify each stage of PIPELINE (TOML): measured, estimated or not covered."""
        report = audit_pipeline(load_pipeline(pipeline), table=load_table(table_path))
        if as_json:
            click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
            return
        render_audit(report, Console(width=160))
