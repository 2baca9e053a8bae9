#!/usr/bin/env python3
"""``xcr serve`` benchmark: requests/s and p50/p99 latency against a bare FastAPI app.

Run from the repository root::

    python3 benchmarks/serve.py [--requests 400] [--seconds 15] [--concurrency 4]

1. Builds a small demo deployment (embedded chain, local store: 4 images, 2 batches) in a
   temporary folder.
2. Starts ``xcr serve`` on a free loopback port (one uvicorn process, as a person would run it)
   and, the same way, a bare FastAPI app served by uvicorn with ``GET /hello`` (a constant JSON
   document) and ``POST /upload`` (reads a multipart file, answers its size).
3. A local load generator (httpx, ``--concurrency`` keep-alive connections) sends each
   endpoint at most ``--requests`` requests or for at most ``--seconds`` seconds, whichever
   ends first, after a short warm-up:

   - ``GET /v1/assets/{cid}`` (label data + verification of the stored asset; the server
     caches chain-derived results per block, so this is the steady state) vs ``GET /hello``;
   - ``POST /v1/verify`` with a demo image (a full re-derivation: label, CID, receipt,
     footprint, chain reads, Merkle proof) vs ``POST /upload`` with the same bytes.

Prints requests/s, p50 and p99 latency (ms) per endpoint and the ratio XCR / bare. The load
generator and the servers share this machine's CPUs: the figures are loopback throughput of
one process on a small machine, not capacity planning numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from xcr_py.demo.campaign import run_demo

BARE_APP = r"""
import sys
from typing import Annotated
import uvicorn
from fastapi import FastAPI, File, UploadFile

app = FastAPI()

@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}

@app.post("/upload")
async def upload(file: Annotated[UploadFile, File()]) -> dict[str, int]:
    return {"bytes": len(await file.read())}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
"""


@dataclass(frozen=True)
class Result:
    """One endpoint's run."""

    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Completed requests per second of wall time."""
        return self.requests / self.seconds


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(args: list[str], port: int, ready_path: str) -> Iterator[str]:
    """Run a server process until ``ready_path`` answers 200; stop it afterwards."""
    url = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally, after the process)
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise SystemExit(f"{args[0]} exited: {log.read().decode(errors='replace')}")
            try:
                if httpx.get(url + ready_path, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server {args} did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _load(url: str, name: str, method: str, path: str, body: bytes | None,
                requests: int, seconds: float, concurrency: int) -> Result:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one() -> float:
            files = {"file": ("image.png", body, "image/png")} if body is not None else None
            start = time.perf_counter()
            response = await client.request(method, path, files=files)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
            return elapsed

        for _ in range(min(10, requests)):  # warm-up: connections, caches, imports
            await one()
        latencies: list[float] = []
        issued = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal issued
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                latencies.append(await one())

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return Result(name, len(latencies), wall, 1000 * statistics.median(latencies),
                  1000 * _percentile(latencies, 0.99))


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="most requests per endpoint")
    parser.add_argument("--seconds", type=float, default=15.0, help="most seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent connections")
    args = parser.parse_args()
    if args.requests < 10 or args.seconds <= 0 or not 1 <= args.concurrency <= 64:
        parser.error("--requests >= 10, --seconds > 0, --concurrency in [1, 64]")

    xcr = shutil.which("xcr", path=str(Path(sys.executable).parent)) or shutil.which("xcr")
    if xcr is None:
        raise SystemExit("the xcr console script is not installed (pip install -e .)")
    with tempfile.TemporaryDirectory(prefix="xcr-bench-serve-") as tmp:
        print("building the demo deployment ...", file=sys.stderr)
        demo = run_demo(Path(tmp) / "demo", assets=4, size=64, steps=2, batch_size=2)
        assert demo.config_path is not None
        cid = str(demo.assets[0].result.asset_cid)
        image = demo.assets[0].path.read_bytes()

        def run(url: str, name: str, method: str, path: str, body: bytes | None) -> Result:
            return asyncio.run(_load(url, name, method, path, body, args.requests,
                                     args.seconds, args.concurrency))

        port = free_port()
        with server([xcr, "serve", "--config", str(demo.config_path), "--port", str(port)],
                    port, "/openapi.json") as url:
            asset = run(url, "xcr GET /v1/assets/{cid}", "GET", f"/v1/assets/{cid}", None)
            verify = run(url, "xcr POST /v1/verify", "POST", "/v1/verify", image)
        port = free_port()
        with server([sys.executable, "-c", BARE_APP, str(port)], port, "/hello") as url:
            hello = run(url, "bare GET /hello", "GET", "/hello", None)
            upload = run(url, "bare POST /upload", "POST", "/upload", image)

    print(f"\nxcr serve vs bare FastAPI/uvicorn, loopback, {args.concurrency} connections, "
          f"<= {args.requests} requests or {args.seconds:g} s per endpoint, "
          f"{os.cpu_count()} CPUs shared with the load generator; image {len(image)} bytes")
    print(f"{'endpoint':32} {'requests':>8} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9}")
    for r in (asset, hello, verify, upload):
        print(f"{r.name:32} {r.requests:8d} {r.rps:9.1f} {r.p50_ms:9.2f} {r.p99_ms:9.2f}")
    print(f"\nratio GET  /v1/assets/{{cid}} / GET /hello : {asset.rps / hello.rps:.3f} "
          f"(req/s), p50 x{asset.p50_ms / hello.p50_ms:.1f}")
    print(f"ratio POST /v1/verify / POST /upload      : {verify.rps / upload.rps:.3f} "
          f"(req/s), p50 x{verify.p50_ms / upload.p50_ms:.1f}")


if __name__ == "__main__":
    main()
