"""``xcr verify FILE``: re-derive a labelled asset's claim step by step, trusting no stated number.

Prints each step with its result (rich), or the verdict as JSON with ``--json``; exits 0 when
every step passed, 1 naming the first failing step otherwise (2 for bad input such as a missing
file or configuration).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from xcr_py.config import CONFIG_FILE_NAME, XcrConfig

__all__ = ["find_config", "register"]


def find_config(config_file: Path | None, near: Path) -> XcrConfig:
    """``--config``, else ``XCR_CONFIG`` / ``./xcr.toml``, else the nearest one above ``near``.

    The last rule lets ``xcr verify out/cat.png`` work from anywhere on a demo output folder.
    """
    from xcr_py.config import from_environment

    if config_file is None and "XCR_CONFIG" not in os.environ \
            and not (Path.cwd() / CONFIG_FILE_NAME).is_file():
        for folder in [near.resolve().parent, *near.resolve().parent.parents]:
            if (folder / CONFIG_FILE_NAME).is_file():
                config_file = folder / CONFIG_FILE_NAME
                break
    return from_environment(config_file)


def _print(verdict: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from xcr_py.verify import Verdict

    assert isinstance(verdict, Verdict)
    console = Console()
    table = Table(title=f"xcr verify {verdict.path}", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("result")
    table.add_column("details")
    for i, step in enumerate(verdict.steps, 1):
        mark = "[green]pass[/]" if step.ok else "[bold red]FAIL[/]"
        numbers = "".join(f"\n  {n.name} = {n.value} {n.unit} ({n.method}; {n.source})"
                          for n in step.numbers)
        table.add_row(str(i), f"{step.name}\n[dim]{step.title}[/]", mark,
                      step.details + numbers)
    console.print(table)
    failed = verdict.failed_step
    if failed is not None:
        console.print(f"[bold red]verification failed at step '{failed.name}':[/] "
                      f"{failed.details}")
    elif verdict.ok:
        console.print(f"[bold green]verified[/] ({verdict.mode} mode): every number re-derived "
                      "from the file, the store and the chain")


@click.command("verify")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="xcr.toml naming the store and chain (default: ./xcr.toml or the nearest "
                   "one above FILE)")
@click.option("--json", "as_json", is_flag=True, help="print the verdict as JSON")
def verify_command(file: Path, config_file: Path | None, as_json: bool) -> None:
    """Verify FILE's impact label against the store and the chain, step by step."""
    from xcr_py.errors import InputError
    from xcr_py.verify import verify_file

    if not file.is_file():
        raise InputError("FILE", f"{file} is not an existing file")
    verdict = verify_file(file, find_config(config_file, file))
    if as_json:
        click.echo(json.dumps(verdict.to_json(), indent=2))
    else:
        _print(verdict)
    if not verdict.ok:
        failed = verdict.failed_step
        if as_json:
            click.echo(f"verification failed at step "
                       f"'{failed.name if failed else 'incomplete'}'", err=True)
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    """Add ``xcr verify`` to the root group."""
    cli.add_command(verify_command)
