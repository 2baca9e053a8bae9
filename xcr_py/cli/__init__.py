"""The ``xcr`` command line: thin; it parses, calls the stages, prints (rich) or emits ``--json``.

Each command group lives in its own module of this package and exposes ``register(group)``.
Errors raised by the stages are converted to a message and an exit code here, at the edge.
"""

from __future__ import annotations

import importlib
import sys

import click

from xcr_py.errors import InputError, XcrError

__all__ = ["main"]

# One module per command group; each defines ``register(cli: click.Group) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "audit",
    "chain",
    "content",
    "demo",
    "footprint",
    "insights",
    "outbox",
    "report",
    "schedule",
    "serve",
    "verify",
)

EXIT_INPUT = 2
EXIT_FAILURE = 1


class XcrGroup(click.Group):
    """A click group that turns XcrError into a one-line message and an exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        except XcrError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FAILURE)


@click.group(cls=XcrGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xcr")
def cli() -> None:
    """XCR: measured, paid-back and provable carbon for AI-generated media."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"xcr_py.cli.{_name}").register(cli)


def main() -> None:
    """Console entry point."""
    cli()
