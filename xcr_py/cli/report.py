"""``xcr report CAMPAIGN``: the campaign's sustainability report as HTML, JSON and CSV."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["register"]


@click.command("report")
@click.argument("campaign", type=click.Path(path_type=Path, file_okay=False))
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="xcr.toml naming the store and chain (default: ./xcr.toml or CAMPAIGN's)")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=True, file_okay=False),
              help="output folder (default: CAMPAIGN/report)")
def report_command(campaign: Path, config_file: Path | None, out: Path | None) -> None:
    """Write report.html (self-contained), report.json and report.csv for the labelled assets
    under the CAMPAIGN folder (e.g. the output folder of ``xcr demo``)."""
    from xcr_py.cli.verify import find_config
    from xcr_py.errors import InputError
    from xcr_py.report import write_report

    if not campaign.is_dir():
        raise InputError("CAMPAIGN", f"{campaign} is not a directory of labelled assets")
    config = find_config(config_file, campaign / "x")
    for path in write_report(campaign, config, out=out):
        click.echo(f"wrote {path}")


def register(cli: click.Group) -> None:
    """Add ``xcr report`` to the root group."""
    cli.add_command(report_command)
