"""``xcr cid`` and ``xcr store export-car / import-car``: thin wrappers over xcr_py.content."""

from __future__ import annotations

import json
from pathlib import Path

import click

from xcr_py.content.cid import file_cid
from xcr_py.content.local import LocalStore

__all__ = ["register"]

_METHOD = "ipfs add --only-hash equivalent: sha2-256, 256 KiB chunks, balanced 174-link DAG"


def _local_store(store_dir: Path | None) -> LocalStore:
    if store_dir is not None:
        return LocalStore(store_dir)
    from xcr_py.config import from_environment

    return LocalStore(from_environment().store_path)


@click.command("cid")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--v0", "v0", is_flag=True, help="CIDv0 (like `ipfs add --cid-version=0`).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
def cid_command(files: tuple[Path, ...], v0: bool, as_json: bool) -> None:
    """Print the CID of each FILE as `ipfs add` would give it, storing nothing.

    Default: CIDv1 base32 with raw leaves (`--cid-version=1 --raw-leaves=true`).
    """
    version = 0 if v0 else 1
    for path in files:
        cid = file_cid(path, cid_version=version)
        if as_json:
            record = {
                "file": str(path),
                "cid": str(cid),
                "cid_version": version,
                "bytes": {"value": path.stat().st_size, "unit": "B", "method": "measured"},
                "method": _METHOD,
            }
            click.echo(json.dumps(record, sort_keys=True))
        else:
            click.echo(f"{cid}  {path}")


@click.group("store")
def store_group() -> None:
    """The local block store: CAR export and import (for `ipfs dag import`)."""


_STORE_DIR = click.option(
    "--store-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local store folder (default: store.path from the configuration).",
)


@store_group.command("export-car")
@click.argument("cid")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@_STORE_DIR
def export_car(cid: str, out: Path, store_dir: Path | None) -> None:
    """Write the pinned DAG under CID to OUT (CAR v1); load it anywhere with `ipfs dag import`."""
    target = _local_store(store_dir).export_car(cid, out)
    click.echo(f"{cid}  {target}  ({target.stat().st_size} B)")


@store_group.command("import-car")
@click.argument("car", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_STORE_DIR
def import_car(car: Path, store_dir: Path | None) -> None:
    """Verify every block of CAR, check its DAGs are complete, store and pin its roots."""
    for root in _local_store(store_dir).import_car(car):
        click.echo(f"pinned {root}")


def register(cli: click.Group) -> None:
    """Add ``cid`` and ``store`` to the root group."""
    cli.add_command(cid_command)
    cli.add_command(store_group)
