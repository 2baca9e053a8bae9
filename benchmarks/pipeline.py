#!/usr/bin/env python3
"""Pipeline benchmark: tracked assets per second, each next to a baseline from the same run.

Run from the repository root (needs ``npm ci`` for anvil)::

    python3 benchmarks/pipeline.py [--assets 1000] [--receipts 100] [--probe-processes 2]
                                   [--json] [--profile]

1. **Batch mode** on the persistent embedded chain (py-evm, journalled in the run folder), the
   ``LocalStore`` on disk: ``--assets`` random 64 KiB assets held in memory are tracked one by
   one (``with tracker.track(asset)`` with an empty body: the render itself is excluded), and
   the clock stops when ``flush()`` returns with every asset ``confirmed``. Inside the figure:
   metering window, CID, footprint, receipt build and canonical encoding, pin of asset and
   receipt, outbox (SQLite, WAL), Merkle batch of ``--batch-size``, EIP-712 signing, the batch
   transaction and the per-asset proof files. Baseline: ``hashlib.sha256`` over the same bytes.
   Target: >= 5,000 assets/s. A second baseline, the storage floor, is the least any durable
   store must do with the same bytes on the same disk: sha256 each and append it to one file,
   then one fsync. A diagnostic line repeats the run with the store and outbox on tmpfs
   (``/dev/shm``), where ``fsync`` costs nothing, to show the disk's share.
2. **Single mode** on anvil: ``--receipts`` assets (2 KiB), one transaction each, until every
   receipt is confirmed. Baseline: anvil's raw transaction rate for a minimal contract call
   (a 10-byte counter contract, raw bytecode): pre-signed transactions sent one at a time, each
   waiting for its receipt, polled as the settler polls. A second baseline sends the same call
   through XCR's ``Sender`` (gas estimate, nonce, sign, send, wait). Target: >= 50 receipts/s.

3. **Process probe** (diagnostic, ``--probe-processes N``, default 2; 0 skips it): the ceiling
   of one design this code does not ship, preparing in N spawned worker processes. The main
   process meters each asset, reserves its credit and hands groups of 256 jobs to the pool;
   each worker pins, builds and pins the receipt, and writes its group's outbox rows (the
   ``Preparer`` and ``Outbox`` the tracker uses); the tracker's settling thread settles them
   as before. Same assets, same batch size, same figure (all confirmed), so its ratio to the
   batch figure says what spreading the Python work of preparing over both cores would buy.

The batch figure also prints the CPU time each of the tracker's threads spent per asset (the
render thread, ``xcr-tracker`` preparing, ``xcr-settler`` settling; read from
``/proc/self/task``): their sum against the wall time shows how far the threads overlap, and
against 400 us (two cores' worth of 200 us, i.e. 5,000/s) what the target leaves for them.

Wall-clock time on a shared machine is noisy; the baselines run in the same process, right
after their figure, so the ratios are the comparable numbers. ``--profile`` runs the batch
pipeline's stages in the main thread under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import multiprocessing
import os
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from eth_account import Account
from web3 import Web3

from xcr_py import units
from xcr_py.chain import RemovalMethod, Sender, XcrGateway, connect, deploy
from xcr_py.chain.embedded import EmbeddedChain
from xcr_py.chain.nodes import start_anvil
from xcr_py.client import Tracker
from xcr_py.client.credit import CreditChoice, CreditSelector
from xcr_py.client.prepare import AssetJob, FootprintSettings, Prepared, Preparer
from xcr_py.client.wiring import default_meter
from xcr_py.config import load_config
from xcr_py.content.local import LocalStore
from xcr_py.oracle.keys import OracleQuorum, OracleSigner
from xcr_py.oracle.outbox import Outbox

TARGET_BATCH_PER_S = 5_000
TARGET_SINGLE_PER_S = 50
ASSET_BYTES = 64 * 1024
CREDIT_GRAMS = 10**12
# Minimal contract: runtime "slot0 += 1" (PUSH1 1 PUSH1 0 SLOAD ADD PUSH1 0 SSTORE STOP),
# behind a 12-byte constructor that returns it.
COUNTER_RUNTIME = "6001600054016000550" + "0"
COUNTER_INIT = "0x600a600c600039600a6000f3" + COUNTER_RUNTIME


def _system(w3: Web3, keys: list[str]) -> tuple[Any, str, list[str]]:
    """Deploy XCR with keys[0] admin, keys[1] oracle, keys[2] submitter; issue a DAC batch."""
    admin, oracle, submitter = keys[0], keys[1], keys[2]
    deployment = deploy(w3, admin, [Account.from_key(oracle).address], threshold=1)
    XcrGateway(w3, deployment, admin).issue_batch(
        CREDIT_GRAMS, RemovalMethod.DIRECT_AIR_CAPTURE, 1000, 2025, "BenchRegistry", "DAC-BENCH",
        f"1-{CREDIT_GRAMS}", "bafkqaaa")
    return deployment, submitter, [oracle]


def _tracker(folder: Path, w3: Web3, deployment: Any, submitter: str, oracles: list[str],
             mode: str, batch_size: int, settle: bool = True) -> Tracker:
    config = load_config(env={}, cwd=folder, overrides={
        "chain.data_dir": str(folder / "data"), "footprint.intensity_mg_per_kwh": 400_000,
        "mode.kind": mode, "mode.batch_size": batch_size, "mode.max_delay_s": 3600})
    quorum = OracleQuorum([OracleSigner.from_private_key(k) for k in oracles])
    return Tracker(config, meter=default_meter(), store=LocalStore(folder / "store"),
                   gateway=XcrGateway(w3, deployment, submitter), quorum=quorum,
                   outbox=Outbox(folder / "outbox.sqlite"), env={}, settle=settle)


def _assets(n: int, size: int) -> list[bytes]:
    return [os.urandom(size) for _ in range(n)]


def _sha_rate(assets: list[bytes], repeat: int = 3) -> float:
    """Best of ``repeat``: sha256 digests per second over the same bytes."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for a in assets:
            hashlib.sha256(a).digest()
        best = min(best, time.perf_counter() - t)
    return len(assets) / best


def _storage_floor(folder: Path, assets: list[bytes]) -> float:
    """Assets per second for the least any durable store must do with them: sha256 each
    and append it to one file on the same file system, then one fsync (best of 2)."""
    best = float("inf")
    for attempt in range(2):
        path = folder / f"floor-{attempt}.bin"
        t = time.perf_counter()
        with path.open("wb", buffering=0) as f:
            for a in assets:
                hashlib.sha256(a).digest()
                f.write(a)
            os.fsync(f.fileno())
        best = min(best, time.perf_counter() - t)
        path.unlink()
    return len(assets) / best


def _thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread of this process, by thread name
    (Linux ``/proc``; empty where it is missing)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    cpu: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError, ValueError):
                stat = Path(f"/proc/self/task/{tid}/stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)"
                name = names.get(int(tid), f"thread-{tid}")
                cpu[name] = cpu.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return cpu


@contextlib.contextmanager
def _embedded(folder: Path) -> Iterator[tuple[Web3, Any, str, list[str]]]:
    chain = EmbeddedChain(folder / "chain")
    try:
        deployment, submitter, oracles = _system(chain.w3, chain.dev_private_keys())
        yield chain.w3, deployment, submitter, oracles
    finally:
        chain.close()


def batch_run(folder: Path, assets: list[bytes], batch_size: int) -> dict[str, Any]:
    """Track every asset in batch mode and settle; seconds and rates."""
    with _embedded(folder) as (w3, deployment, submitter, oracles):
        tracker = _tracker(folder, w3, deployment, submitter, oracles, "batch", batch_size)
        try:
            render_path = 0.0
            cpu_before = _thread_cpu()
            start = time.perf_counter()
            for asset in assets:
                t = time.perf_counter()
                with tracker.track(asset, model="bench", campaign="bench"):
                    pass
                render_path += time.perf_counter() - t
            results = tracker.flush(600)
            elapsed = time.perf_counter() - start
            cpu_after = _thread_cpu()  # before close: the worker threads are still alive
        finally:
            tracker.close(flush=False)
    confirmed = sum(r.state == "confirmed" for r in results)
    if confirmed != len(assets):
        raise SystemExit(f"batch run: only {confirmed} of {len(assets)} assets confirmed")
    cpu_us = {name: (cpu_after[name] - cpu_before.get(name, 0.0)) / len(assets) * 1e6
              for name in ("MainThread", "xcr-tracker", "xcr-settler") if name in cpu_after}
    return {"assets": len(assets), "seconds": elapsed, "per_s": len(assets) / elapsed,
            "render_path_us_per_asset": render_path / len(assets) * 1e6,
            "cpu_us_per_asset": cpu_us,
            "batches": len({r.token_id for r in results}),
            "storage_floor_per_s": _storage_floor(folder, assets)}


def profile_batch(folder: Path, assets: list[bytes], batch_size: int, top: int = 18) -> str:
    """The batch pipeline's stages run in this thread under cProfile (worker not settling)."""
    with _embedded(folder) as (w3, deployment, submitter, oracles):
        # No settling thread: the same parts are driven from here.
        tracker = _tracker(folder, w3, deployment, submitter, oracles, "batch", batch_size,
                           settle=False)
        jobs = []
        for i, asset in enumerate(assets):
            with tracker.meter.window(f"p{i}") as w:
                pass
            jobs.append(AssetJob(f"p{i}", w.result, asset, "bench", "application/octet-stream",
                                 tracker.creator, "bench", {}))
        prof = cProfile.Profile()
        prof.enable()
        for k in range(0, len(jobs), 256):
            tracker._write(jobs[k:k + 256])
        while tracker.outbox.status().active:
            tracker.settler.step(force=True)
        prof.disable()
        tracker.close(flush=False)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


class _GivenCredit:
    """A worker's credit selector: the choice the main process reserved for the next job."""

    def __init__(self) -> None:
        self.choice: CreditChoice | None = None

    def reserve(self, grams: int) -> CreditChoice:
        assert self.choice is not None
        return self.choice


_PROBE: dict[str, Any] = {}  # one worker process's store, outbox and preparer


def _probe_init(store_root: str, outbox_path: str, settings: FootprintSettings,
                oracles: tuple[str, ...], threshold: int) -> None:
    store = LocalStore(store_root)
    credit = _GivenCredit()
    _PROBE.update(store=store, outbox=Outbox(outbox_path), credit=credit,
                  # duck-typed: the preparer only calls reserve()
                  preparer=Preparer(store, settings, cast(CreditSelector, credit), oracles,
                                    threshold))


def _probe_prepare(group: list[tuple[AssetJob, CreditChoice]]) -> tuple[int, float]:
    """One group, as the tracker's ``_write`` does it: pin under one sync, one outbox commit.
    Returns the rows written and this worker's CPU seconds for it."""
    cpu = time.process_time()
    store, preparer, credit = _PROBE["store"], _PROBE["preparer"], _PROBE["credit"]
    ready: list[Prepared] = []
    with store.deferred_sync():
        for job, choice in group:
            credit.choice = choice
            ready.append(preparer.prepare(job))
    written = _PROBE["outbox"].enqueue_pinned_many([p.outbox_entry() for p in ready])
    return written, time.process_time() - cpu


def process_probe(folder: Path, assets: list[bytes], batch_size: int, processes: int,
                  group: int = 256) -> dict[str, Any]:
    """Diagnostic: preparing in ``processes`` spawned workers, settling in this process.

    The clock runs from the first metering window until every asset is confirmed; the pool
    is started and warmed before it (a tracker would start it once). CPU time is counted for
    this process (all its threads) and for the workers' groups.
    """
    with _embedded(folder) as (w3, deployment, submitter, oracles):
        tracker = _tracker(folder, w3, deployment, submitter, oracles, "batch", batch_size)
        settings = tracker.preparer.settings
        pool = multiprocessing.get_context("spawn").Pool(
            processes, _probe_init, (str(folder / "store"), str(tracker.outbox.path), settings,
                                     tracker.quorum.addresses, tracker.quorum.threshold))
        try:
            pool.map(abs, range(processes))  # every worker started and initialised
            start, main_cpu = time.perf_counter(), time.process_time()
            results, jobs = [], []
            for i, asset in enumerate(assets):
                with tracker.meter.window(f"probe-{i}") as w:
                    pass
                job = AssetJob(f"probe-{i}", w.result, asset, "bench",
                               "application/octet-stream", tracker.creator, "bench", {})
                grams = units.grams_to_retire(units.required_removal_mg(
                    settings.footprint(job.window).gross_mg, settings.ratio_bps)) + 1
                jobs.append((job, tracker.credits.reserve(grams)))
                if len(jobs) == group or i == len(assets) - 1:
                    results.append(pool.apply_async(_probe_prepare, (jobs,),
                                                    callback=lambda _: tracker._wake.set()))
                    jobs = []
            done = [r.get(600) for r in results]
            tracker.flush(600)
            elapsed, main_cpu = time.perf_counter() - start, time.process_time() - main_cpu
            written, worker_cpu = sum(d[0] for d in done), sum(d[1] for d in done)
            counts = tracker.outbox.status().counts
        finally:
            pool.close()
            pool.join()
            tracker.close(flush=False)
    if written != len(assets) or counts["confirmed"] != len(assets):
        raise SystemExit(f"process probe: {written} written, {counts['confirmed']} of "
                         f"{len(assets)} confirmed")
    n = len(assets)
    return {"processes": processes, "assets": n, "seconds": elapsed, "per_s": n / elapsed,
            "cpu_us_per_asset": {"main process": main_cpu / n * 1e6,
                                 "workers": worker_cpu / n * 1e6}}


def single_run(node_url: str, keys: list[str], folder: Path, n: int) -> dict[str, Any]:
    """Track ``n`` 2 KiB assets in single mode on anvil; seconds and rate."""
    w3 = connect(node_url)
    deployment, submitter, oracles = _system(w3, keys)
    tracker = _tracker(folder, w3, deployment, submitter, oracles, "single", 1)
    try:
        assets = _assets(n, 2048)
        start = time.perf_counter()
        for asset in assets:
            with tracker.track(asset, model="bench", campaign="bench-single"):
                pass
        results = tracker.flush(600)
        elapsed = time.perf_counter() - start
    finally:
        tracker.close(flush=False)
    confirmed = sum(r.state == "confirmed" for r in results)
    if confirmed != n or len({r.tx_hash for r in results}) != n:
        raise SystemExit(f"single run: {confirmed} of {n} confirmed (one transaction each?)")
    return {"receipts": n, "seconds": elapsed, "per_s": n / elapsed}


def raw_call_rate(node_url: str, key: str, n: int) -> dict[str, Any]:
    """anvil's rate for a minimal contract call: pre-signed, sent one by one, each awaited."""
    w3 = connect(node_url)
    sender = Sender(w3, key)
    deployed = sender.send(None, COUNTER_INIT).contract_address
    assert deployed is not None
    counter = Web3.to_checksum_address(deployed)
    assert w3.eth.get_code(counter).hex().removeprefix("0x") == \
        COUNTER_RUNTIME
    account = Account.from_key(key)
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    chain_id, gas_price = w3.eth.chain_id, w3.eth.gas_price
    signed = [account.sign_transaction({"to": counter, "data": "0x", "value": 0, "gas": 60_000,
                                        "gasPrice": gas_price, "nonce": nonce + i,
                                        "chainId": chain_id}).raw_transaction
              for i in range(n)]
    start = time.perf_counter()
    for raw in signed:  # polled as the settler polls (0.5 ms, doubling), not web3's 100 ms
        receipt = sender.wait_for_receipt(bytes(w3.eth.send_raw_transaction(raw)))
        assert receipt["status"] == 1
    raw_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(n):
        sender.send(counter, "0x")
    sender_s = time.perf_counter() - start
    assert int.from_bytes(w3.eth.get_storage_at(counter, 0), "big") == 2 * n
    return {"calls": n, "raw_per_s": n / raw_s, "sender_per_s": n / sender_s}


def _tmpfs() -> Path | None:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def measure(n_assets: int, n_receipts: int, batch_size: int,
            probe_processes: int = 0) -> dict[str, Any]:
    figures: dict[str, Any] = {"asset_bytes": ASSET_BYTES, "batch_size": batch_size}
    assets = _assets(n_assets, ASSET_BYTES)
    with tempfile.TemporaryDirectory(prefix="xcr-bench-") as tmp:
        figures["batch_disk"] = batch_run(Path(tmp), assets, batch_size)
    figures["sha256_per_s"] = _sha_rate(assets)
    if probe_processes:
        with tempfile.TemporaryDirectory(prefix="xcr-bench-") as tmp:
            figures["process_probe"] = process_probe(Path(tmp), assets, batch_size,
                                                     probe_processes)
    shm = _tmpfs()
    if shm is not None:
        with tempfile.TemporaryDirectory(prefix="xcr-bench-", dir=shm) as tmp:
            figures["batch_tmpfs"] = batch_run(Path(tmp), assets, batch_size)
    node = start_anvil(hardfork="cancun")
    try:
        keys = list(node.private_keys)
        with tempfile.TemporaryDirectory(prefix="xcr-bench-") as tmp:
            figures["single_anvil"] = single_run(node.url, keys[:3], Path(tmp), n_receipts)
        figures["anvil_minimal_call"] = raw_call_rate(node.url, keys[3], n_receipts)
    finally:
        node.stop()
    return figures


def _verdict(value: float, target: float) -> str:
    return f"target >= {target:,} /s {'MET' if value >= target else 'NOT MET'}"


def report(f: dict[str, Any]) -> str:
    b, sha = f["batch_disk"], f["sha256_per_s"]
    s, base = f["single_anvil"], f["anvil_minimal_call"]
    lines = [
        f"batch mode, embedded chain, LocalStore on disk: {b['assets']} x 64 KiB assets from "
        f"memory, Merkle batches of {f['batch_size']} ({b['batches']} settlements)",
        f"  pipeline    {b['per_s']:>10,.0f} assets/s   ({b['seconds']:.2f} s; render path "
        f"{b['render_path_us_per_asset']:.0f} us/asset)",
        f"  baseline    {sha:>10,.0f} sha256/s   (hashlib over the same bytes)",
        f"  ratio       {b['per_s'] / sha:>10.4f}          "
        f"{_verdict(b['per_s'], TARGET_BATCH_PER_S)}",
        f"  floor       {b['storage_floor_per_s']:>10,.0f} assets/s (sha256 + append to one "
        f"file + fsync, same bytes, same disk); pipeline / floor "
        f"{b['per_s'] / b['storage_floor_per_s']:.3f}",
    ]
    if cpu := b["cpu_us_per_asset"]:
        wall_us = b["seconds"] / b["assets"] * 1e6
        parts = ", ".join(f"{name} {us:.0f}" for name, us in cpu.items())
        lines.append(f"  CPU/asset   {parts} us; sum {sum(cpu.values()):.0f} us against "
                     f"{wall_us:.0f} us wall (threads overlap {sum(cpu.values()) / wall_us:.2f}x"
                     f"); 5,000/s on 2 cores leaves 400 us")
    if "batch_tmpfs" in f:
        t = f["batch_tmpfs"]
        lines.append(f"  diagnostic: same run with store + outbox on tmpfs (fsync free): "
                     f"{t['per_s']:,.0f} assets/s ({t['seconds']:.2f} s), ratio to sha256 "
                     f"{t['per_s'] / sha:.4f}, floor there {t['storage_floor_per_s']:,.0f}/s")
    if "process_probe" in f:
        q = f["process_probe"]
        lines.append(f"  diagnostic: preparing in {q['processes']} worker processes (not shipped"
                     f"), settling here, same assets: {q['per_s']:,.0f} assets/s "
                     f"({q['seconds']:.2f} s), {q['per_s'] / b['per_s']:.2f}x the pipeline, "
                     f"ratio to sha256 {q['per_s'] / sha:.4f}")
        cpu, wall_us = q["cpu_us_per_asset"], q["seconds"] / q["assets"] * 1e6
        lines.append("    its CPU/asset: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items())
                     + f" us; sum {sum(cpu.values()):.0f} us against {wall_us:.0f} us wall "
                     f"({sum(cpu.values()) / wall_us:.2f} of 2 cores busy)")
    lines += [
        f"single mode, anvil: {s['receipts']} receipts, one transaction each",
        f"  pipeline    {s['per_s']:>10,.1f} receipts/s ({s['seconds']:.2f} s)",
        f"  baseline    {base['raw_per_s']:>10,.1f} calls/s    (minimal contract call, "
        f"pre-signed, sent and awaited one by one)",
        f"  ratio       {s['per_s'] / base['raw_per_s']:>10.3f}          "
        f"{_verdict(s['per_s'], TARGET_SINGLE_PER_S)}",
        f"  second baseline: the same call through xcr Sender (estimate, nonce, sign, send, "
        f"wait): {base['sender_per_s']:,.1f} calls/s, ratio "
        f"{s['per_s'] / base['sender_per_s']:.3f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--assets", type=int, default=1000, help="batch-mode assets (64 KiB)")
    parser.add_argument("--receipts", type=int, default=100, help="single-mode receipts")
    parser.add_argument("--batch-size", type=int, default=512, help="assets per Merkle batch")
    parser.add_argument("--probe-processes", type=int, default=2,
                        help="worker processes of the process probe (0: skip it)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the batch pipeline's stages (cProfile, 500 assets)")
    args = parser.parse_args(argv)
    for name in ("assets", "receipts", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: must be >= 1")
    if args.probe_processes < 0:
        parser.error("--probe-processes: must be >= 0")
    started = time.perf_counter()
    figures = measure(args.assets, args.receipts, args.batch_size, args.probe_processes)
    figures["total_seconds"] = time.perf_counter() - started
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    if args.profile:
        with tempfile.TemporaryDirectory(prefix="xcr-bench-") as tmp:
            print(profile_batch(Path(tmp), _assets(500, ASSET_BYTES), args.batch_size))
    print(f"(total {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
