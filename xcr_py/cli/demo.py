"""``xcr demo``: the main job, on the embedded chain and a local block store."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from xcr_py.demo.campaign import CONFIG_FILE, DEMO_CAMPAIGN, DemoResult, run_demo, run_rpc
from xcr_py.errors import InputError

__all__ = ["register"]


def _short(text: str, head: int = 10, tail: int = 6) -> str:
    return text if len(text) <= head + tail + 1 else f"{text[:head]}…{text[-tail:]}"


def _print_result(console: Console, result: DemoResult, seconds: float) -> None:
    deployment = result.deployment
    console.print(
        f"[bold]Contracts[/] on embedded chain {deployment.chain_id}: "
        f"credits {deployment.credits}, receipts {deployment.receipts}, "
        f"controller {deployment.controller}"
    )
    for credit in result.credits:
        console.print(
            f"  demo credit batch {credit.batch_id}: {credit.method}, "
            f"{credit.permanence_years}+ years, {credit.grams:,} g "
            f"({credit.project_id}; DEMO - NOT REAL CREDITS)"
        )
    for refusal in result.refusals:
        console.print(f"  [yellow]refused avoidance batch[/] - {refusal}")

    estimated = result.energy_method != "measured"
    table = Table(title=f"Campaign {DEMO_CAMPAIGN}: per-asset receipts", show_lines=False)
    for header, justify in (
        ("asset", "left"),
        ("asset CID", "left"),
        ("energy J", "right"),
        ("gross mg", "right"),
        ("removed mg", "right"),
        ("token", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    total_mj = total_gross = total_removed = 0
    for asset in result.assets:
        r = asset.result
        total_mj += r.energy_mj or 0
        total_gross += r.gross_mg or 0
        total_removed += asset.removed_mg
        table.add_row(
            _short(asset.path.stem, 14, 0).rstrip("…"),
            _short(r.asset_cid or "-"),
            f"{(r.energy_mj or 0) / 1000:.2f}",
            f"{r.gross_mg or 0:,}",
            f"{asset.removed_mg:,}",
            _short(f"{r.token_id or 0:#x}", 6, 4),
        )
    console.print(table)
    console.print(
        "mg = milligrams CO2e. Credits retire in whole grams, so a small batch "
        "over-retires; removal is reported beside the gross figure, never netted."
    )
    tokens = {a.result.token_id for a in result.assets}
    method = (
        "ESTIMATED (declared CPU power x time; no GPU or RAPL counter readable)"
        if estimated
        else "measured"
    )
    console.print(
        f"[bold]Totals[/]: {len(result.assets)} assets, {total_mj / 1e6:.3f} kJ "
        f"({method}), gross {total_gross / 1000:.3f} g CO2e, removal retired "
        f"{total_removed / 1000:.3f} g CO2e beside it (gross is never reduced), "
        f"{len(tokens)} batch receipt token(s)."
    )
    console.print(
        f"Output in {result.out_dir}: labelled images in assets/, badges/, "
        f"receipts and assets pinned in store/ ({len(result.car_files)} CAR files "
        f"in car/), chain journal in chain/, settings in {CONFIG_FILE}."
    )
    if result.assets:
        console.print(
            f"Verify one: cd {result.out_dir} && xcr verify assets/{result.assets[0].path.name}"
        )
    console.print(f"Done in {seconds:.1f} s.")


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("xcr-demo"),
    show_default=True,
    help="Output folder (replaced only if it holds an earlier demo).",
)
@click.option(
    "--assets",
    type=click.IntRange(1, 1000),
    default=12,
    show_default=True,
    help="Images to render.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1000),
    default=6,
    show_default=True,
    help="Assets per on-chain batch settlement.",
)
def demo_command(out_dir: Path, assets: int, batch_size: int) -> None:
    """Render, meter, receipt, pin and settle a small demo campaign (no node, no daemon)."""
    console = Console()
    started = time.perf_counter()
    with _progress_bar(console) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        result = run_demo(out_dir, assets=assets, batch_size=batch_size, progress=progress)
    _print_result(console, result, time.perf_counter() - started)


def _progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _key_from_env(variable: str, option: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise InputError(option, f"environment variable {variable} is not set (hex private key)")
    return value


@click.command("run")
@click.option("--rpc", "rpc_url", required=True, help="JSON-RPC URL (anvil, ganache, ...).")
@click.option(
    "--ipfs",
    "ipfs_addr",
    required=True,
    help="Kubo RPC API multiaddr or URL, e.g. /ip4/127.0.0.1/tcp/5001/http.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("xcr-run"),
    show_default=True,
    help="Output folder (replaced only if it holds an earlier run).",
)
@click.option("--mode", type=click.Choice(["single", "batch"]), default="batch", show_default=True)
@click.option("--assets", type=click.IntRange(1, 1000), default=12, show_default=True)
@click.option("--batch-size", type=click.IntRange(1, 1000), default=6, show_default=True)
@click.option(
    "--deployer-key-env",
    default="XCR_DEPLOYER_KEY",
    show_default=True,
    help="Variable holding the funded deployer/submitter key.",
)
@click.option(
    "--oracle-key-env",
    default="XCR_ORACLE_KEY",
    show_default=True,
    help="Variable holding the oracle signing key.",
)
def run_command(
    rpc_url: str,
    ipfs_addr: str,
    out_dir: Path,
    mode: str,
    assets: int,
    batch_size: int,
    deployer_key_env: str,
    oracle_key_env: str,
) -> None:
    """The demo campaign against a real node and IPFS daemon (keys from the environment)."""
    deployer_key = _key_from_env(deployer_key_env, "--deployer-key-env")
    oracle_key = _key_from_env(oracle_key_env, "--oracle-key-env")
    console = Console()
    started = time.perf_counter()
    with _progress_bar(console) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        result = run_rpc(
            out_dir,
            rpc_url=rpc_url,
            ipfs_addr=ipfs_addr,
            deployer_key=deployer_key,
            oracle_key=oracle_key,
            mode="single" if mode == "single" else "batch",
            assets=assets,
            batch_size=batch_size,
            progress=progress,
        )
    _print_result(console, result, time.perf_counter() - started)


def register(cli: click.Group) -> None:
    """Add ``xcr demo`` and ``xcr run`` to the root group."""
    cli.add_command(demo_command)
    cli.add_command(run_command)
