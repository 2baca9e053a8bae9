#!/usr/bin/env python3
"""Start a local, offline js-ipfs daemon (npm ``ipfs`` 0.66.1) that speaks the Kubo RPC API.

No Kubo binary installs from PyPI, npm or Debian here; js-ipfs is the only RPC-compatible
daemon from npm. What it needs, and this script does:

* Node 20 lacks ``Promise.withResolvers``: the polyfill ``with-resolvers.cjs`` (next to this
  file) is loaded with ``NODE_OPTIONS=--require``;
* ``jsipfs init --profile test`` in a fresh ``IPFS_PATH`` (a temporary folder by default);
* config: ``Routing.Type = none``, empty ``Bootstrap`` and swarm addresses, API, Gateway and
  gRPC bound to 127.0.0.1 on free ports;
* ``jsipfs daemon --offline``; ready when it prints ``Daemon is ready``.

Usage (from the repository root, after ``npm install``)::

    python3 scripts/ipfs/daemon.py            # prints XCR_STORE_BACKEND / XCR_STORE_KUBO_URL
    XCR_STORE_BACKEND=kubo XCR_STORE_KUBO_URL=... xcr run ...

Ctrl-C stops it (and removes the temporary repository unless ``--ipfs-path`` was given).
The test suite imports :class:`JsIpfsDaemon` from here (``tests/fixtures/ipfs.py``).
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
POLYFILL = HERE / "with-resolvers.cjs"
READY_LINE = "Daemon is ready"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DaemonError(RuntimeError):
    """The daemon could not be initialised or started (the message carries its log tail)."""


class JsIpfsDaemon:
    """One js-ipfs daemon process with its own repository; use as a context manager.

    Args:
        node_modules: folder holding ``ipfs/src/cli.js`` (default: the repository's).
        ipfs_path: repository folder; a temporary one (removed on stop) when ``None``.
    """

    def __init__(self, node_modules: Path | None = None, ipfs_path: Path | None = None) -> None:
        self.cli = (node_modules or REPO / "node_modules") / "ipfs" / "src" / "cli.js"
        self._own_path = ipfs_path is None
        self.ipfs_path = ipfs_path or Path(tempfile.mkdtemp(prefix="xcr-jsipfs-"))
        self.api_port = free_port()
        self.gateway_port = free_port()
        self._proc: subprocess.Popen[str] | None = None
        self._log: deque[str] = deque(maxlen=60)
        self._ready = threading.Event()
        self._pump_thread: threading.Thread | None = None

    @property
    def api_multiaddr(self) -> str:
        """The RPC API as a multiaddr (what ipfshttpclient takes)."""
        return f"/ip4/127.0.0.1/tcp/{self.api_port}/http"

    @property
    def api_url(self) -> str:
        """The RPC API as an http URL."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def gateway_url(self) -> str:
        """The read-only HTTP gateway."""
        return f"http://127.0.0.1:{self.gateway_port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["IPFS_PATH"] = str(self.ipfs_path)
        env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} --require {POLYFILL}".strip()
        return env

    def _init(self) -> None:
        config_file = self.ipfs_path / "config"
        if not config_file.exists():
            done = subprocess.run(
                ["node", str(self.cli), "init", "--profile", "test"],
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if done.returncode != 0:
                raise DaemonError(f"jsipfs init failed ({done.returncode}): {done.stderr[-2000:]}")
        config = json.loads(config_file.read_text())
        addresses = config.setdefault("Addresses", {})
        addresses["API"] = f"/ip4/127.0.0.1/tcp/{self.api_port}"
        addresses["Gateway"] = f"/ip4/127.0.0.1/tcp/{self.gateway_port}"
        addresses["RPC"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        addresses["Swarm"] = []
        config["Routing"] = {"Type": "none"}
        config["Bootstrap"] = []
        config_file.write_text(json.dumps(config, indent=2))

    def start(self, timeout_s: float = 90.0) -> JsIpfsDaemon:
        """Initialise if needed, start the daemon and wait until its API answers."""
        if not self.cli.is_file():
            raise DaemonError(f"{self.cli} not found: run `npm install` in {REPO}")
        self._init()
        self._proc = subprocess.Popen(
            ["node", str(self.cli), "daemon", "--offline"],
            env=self._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, so stop() ends node's children too
        )
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._ready.wait(0.2):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = "\n".join(self._log)
                raise DaemonError(f"js-ipfs daemon did not become ready:\n{tail}")
        return self

    def _pump(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._log.append(line.rstrip())
            if READY_LINE in line:
                self._ready.set()

    def stop(self) -> None:
        """Stop the daemon (SIGTERM, then SIGKILL after 10 s) and remove a temporary repo."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=5)  # it ends at EOF, once node has exited
            self._pump_thread = None
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._own_path:
            shutil.rmtree(self.ipfs_path, ignore_errors=True)

    def __enter__(self) -> JsIpfsDaemon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run a daemon in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ipfs-path", type=Path, help="repository folder (kept); default: temporary"
    )
    parser.add_argument("--node-modules", type=Path, help="default: <repo>/node_modules")
    args = parser.parse_args(argv)
    daemon = JsIpfsDaemon(args.node_modules, args.ipfs_path)
    try:
        daemon.start()
    except DaemonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"js-ipfs RPC API: {daemon.api_url}  gateway: {daemon.gateway_url}", file=sys.stderr)
    print("XCR_STORE_BACKEND=kubo")
    print(f"XCR_STORE_KUBO_URL={daemon.api_url}")
    sys.stdout.flush()
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while daemon._proc is not None and daemon._proc.poll() is None:
            time.sleep(0.5)
        print("daemon exited:\n" + "\n".join(daemon._log), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        daemon.stop()


if __name__ == "__main__":
    sys.exit(main())
