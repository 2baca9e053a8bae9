"""``xcr chain up``: a local anvil from ``node_modules`` on 127.0.0.1, until Ctrl-C.

Prints the JSON-RPC URL, the chain id and the pre-funded accounts. Their private keys are printed
only because they come from anvil's public test mnemonic; they are labelled as test keys.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from xcr_py.chain.nodes import ANVIL_HARDFORKS, ANVIL_MNEMONIC, LocalNode, start_anvil
from xcr_py.errors import ChainError

__all__ = ["register"]

TEST_KEYS_LABEL = "test keys, never use with real funds"
BALANCE_ETH = 10_000


def _describe(node: LocalNode, hardfork: str) -> dict[str, object]:
    return {
        "url": node.url,
        "chain_id": node.chain_id,
        "hardfork": hardfork,
        "pid": node.process.pid,
        "mnemonic": ANVIL_MNEMONIC,
        "keys": TEST_KEYS_LABEL,
        "accounts": [
            {
                "address": address,
                "private_key": key,
                "balance": {"value": BALANCE_ETH, "unit": "ETH", "method": "declared"},
            }
            for address, key in zip(node.addresses, node.private_keys, strict=True)
        ],
    }


def _print_rich(info: dict[str, object], console: Console) -> None:
    console.print(f"anvil listening on [bold]{info['url']}[/bold]")
    console.print(f"chain id {info['chain_id']}, hardfork {info['hardfork']}")
    table = Table(title=f"Accounts ({BALANCE_ETH:,} ETH each) - {TEST_KEYS_LABEL.upper()}")
    table.add_column("#", justify="right")
    table.add_column("address")
    table.add_column("private key (public test mnemonic)")
    accounts = info["accounts"]
    assert isinstance(accounts, list)
    for i, acct in enumerate(accounts):
        table.add_row(str(i), acct["address"], acct["private_key"])
    console.print(table)
    console.print("Ctrl-C stops the node.")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.group("chain")
def chain_group() -> None:
    """Local EVM nodes for development."""


@chain_group.command("up")
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@click.option(
    "--hardfork", type=click.Choice(ANVIL_HARDFORKS), default="shanghai", show_default=True
)
@click.option("--chain-id", type=click.IntRange(1, 2**53 - 1), default=31337, show_default=True)
@click.option("--accounts", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="load the state from this file if it exists, and dump it there on exit",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON line instead of a table")
def up(
    port: int, hardfork: str, chain_id: int, accounts: int, state: Path | None, as_json: bool
) -> None:
    """Start anvil on 127.0.0.1 from node_modules; stop it cleanly on Ctrl-C."""
    node = start_anvil(
        port=port,
        hardfork=hardfork,
        chain_id=chain_id,
        accounts=accounts,
        balance_eth=BALANCE_ETH,
        dump_state=state,
        load_state=state if state is not None and state.is_file() else None,
    )
    # SIGTERM (e.g. from a supervisor) stops the node the same way as Ctrl-C.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        info = _describe(node, hardfork)
        if as_json:
            click.echo(json.dumps(info, sort_keys=True))
        else:
            _print_rich(info, Console())
        sys.stdout.flush()
        while node.running:
            time.sleep(0.2)
        raise ChainError(f"anvil exited unexpectedly (status {node.process.returncode})")
    except KeyboardInterrupt:
        pass
    finally:
        status = node.stop()
        signal.signal(signal.SIGTERM, previous)
    click.echo(f"anvil stopped (exit status {status})", err=True)


def register(cli: click.Group) -> None:
    """Add the ``chain`` command group to the root ``xcr`` group."""
    cli.add_command(chain_group)
