"""``xcr outbox status``: counts per state and the oldest asset still on its way."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from xcr_py.errors import InputError

__all__ = ["register"]


def _outbox_path(config_file: Path | None, outbox: Path | None) -> Path:
    if outbox is not None:
        path = outbox
    else:
        from xcr_py.client.wiring import OUTBOX_FILE
        from xcr_py.config import from_environment

        path = Path(from_environment(config_file).chain.data_dir) / OUTBOX_FILE
    if not path.is_file():
        raise InputError("outbox", f"no outbox at {path} (nothing tracked yet, or another "
                         "chain.data_dir / --outbox)")
    return path


def _status(path: Path) -> dict[str, Any]:
    from xcr_py.oracle.outbox import Outbox

    with Outbox(path) as box:
        status = box.status()
    oldest = status.oldest_pending
    doc: dict[str, Any] = {
        "outbox": str(path), "counts": status.counts, "batch_counts": status.batch_counts,
        "active": status.active, "unbatched_pinned": status.unbatched_pinned,
        "oldest_pending": None,
    }
    if oldest is not None:
        doc["oldest_pending"] = {
            "asset_digest": oldest.asset_digest.hex(), "key": oldest.payload.get("key"),
            "asset_cid": oldest.asset_cid or oldest.payload.get("asset_cid"),
            "state": oldest.state, "batch_id": oldest.batch_id, "attempts": oldest.attempts,
            "last_error": oldest.last_error,
            "age": {"value": round(max(0.0, time.time() - oldest.created_at), 3), "unit": "s",
                    "method": "measured"},
            "next_attempt_in": {"value": round(max(0.0, oldest.next_attempt_at - time.time()),
                                               3), "unit": "s", "method": "measured"},
        }
    return doc


@click.group("outbox")
def outbox_group() -> None:
    """The durable settlement outbox of this worker."""


@outbox_group.command("status")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Configuration file (default: xcr.toml in this folder).")
@click.option("--outbox", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Outbox file (default: <chain.data_dir>/outbox.sqlite).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status_command(config_file: Path | None, outbox: Path | None, as_json: bool) -> None:
    """Counts per state (assets and batches) and the oldest asset not yet settled."""
    doc = _status(_outbox_path(config_file, outbox))
    if as_json:
        click.echo(json.dumps(doc, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"outbox {doc['outbox']}")
    table.add_column("state")
    table.add_column("assets", justify="right")
    table.add_column("batches", justify="right")
    for state, n in doc["counts"].items():
        batches = doc["batch_counts"].get("open" if state == "pinned" else state, "")
        table.add_row(state, str(n), str(batches))
    console = Console()
    console.print(table)
    oldest = doc["oldest_pending"]
    if oldest is None:
        console.print("nothing pending")
    else:
        console.print(f"oldest pending: {oldest['asset_cid'] or oldest['asset_digest']} "
                      f"({oldest['state']}, {oldest['age']['value']} s old, "
                      f"{oldest['attempts']} attempts"
                      + (f", last error: {oldest['last_error']}" if oldest["last_error"] else "")
                      + ")")


def register(cli: click.Group) -> None:
    """Add ``xcr outbox`` to the root group."""
    cli.add_command(outbox_group)
