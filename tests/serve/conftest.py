"""A demo deployment and an ``xcr serve`` subprocess on a free loopback port (session-wide).

Before the server starts (it takes the embedded chain's lock), the fixture records what
``xcr verify --json`` says about the first demo image and a digest of every file of the
deployment, so tests can compare the API with the CLI and prove that nothing was written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from xcr_py.demo.campaign import DemoResult, run_demo

UPLOAD_LIMIT_MB = 1


def xcr_command() -> list[str]:
    """The ``xcr`` entry point of this interpreter."""
    exe = shutil.which("xcr", path=str(Path(sys.executable).parent)) or shutil.which("xcr")
    assert exe is not None, "the xcr console script is not installed (pip install -e .)"
    return [exe]


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path (the deployment's whole state)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """The running server and what was known before it started."""

    url: str
    demo: DemoResult
    cli_verdict: dict[str, object]
    before: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """A small demo campaign (4 images, 2 batches) on the embedded chain and a LocalStore."""
    return run_demo(tmp_path_factory.mktemp("serve") / "demo", assets=4, size=64, steps=2,
                    batch_size=2)


@pytest.fixture(scope="session")
def served(demo: DemoResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``xcr serve`` against the demo, with a 1 MiB upload limit; stopped at the end."""
    assert demo.config_path is not None
    first = demo.assets[0].path
    done = subprocess.run([*xcr_command(), "verify", "--json", "--config",
                           str(demo.config_path), str(first)],
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    cli_verdict = json.loads(done.stdout)
    before = tree_digest(demo.out_dir)
    port = free_port()
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*xcr_command(), "serve", "--config", str(demo.config_path), "--port", str(port),
             "--max-upload-mb", str(UPLOAD_LIMIT_MB)],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"xcr serve exited: {log.read_text()}"
            try:
                if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"xcr serve did not start: {log.read_text()}"
            time.sleep(0.3)
        yield Served(url, demo, cli_verdict, before, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def client(served: Served) -> Iterator[httpx.Client]:
    """An HTTP client for the server."""
    with httpx.Client(base_url=served.url, timeout=60) as c:
        yield c
