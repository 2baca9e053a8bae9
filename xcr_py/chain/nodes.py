"""Local EVM nodes from ``node_modules``: anvil (Foundry) and ganache, started and stopped cleanly.

::

    with anvil(hardfork="cancun") as node:      # or ganache()
        w3 = Web3(HTTPProvider(node.url))
        key = node.private_keys[0]

Each node listens on a free port on 127.0.0.1 only and is ready (its JSON-RPC answers
``eth_chainId``) when the context manager yields. Its pre-funded accounts come from a public test
mnemonic (anvil's ``test test ... junk``, ganache's ``--wallet.deterministic`` one); the keys are
derived here with eth-account and checked against the node's ``eth_accounts``. They are test keys:
never use them with real funds.

The binaries are the npm packages ``@foundry-rs/anvil-linux-amd64`` and ``ganache`` (run
``npm ci`` in the repository); :func:`find_node_modules` locates them. Nodes run in their own
session, so a Ctrl-C meant for the parent does not reach them; :meth:`LocalNode.stop` terminates,
waits, then kills.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Literal

from eth_account import Account

from xcr_py.errors import ChainError, InputError

__all__ = [
    "ANVIL_MNEMONIC",
    "GANACHE_MNEMONIC",
    "LocalNode",
    "anvil",
    "derive_keys",
    "find_node_modules",
    "ganache",
    "start_anvil",
    "start_ganache",
]

ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
"""anvil's default, publicly known development mnemonic."""
GANACHE_MNEMONIC = "myth like bonus scare over problem client lizard pioneer submit female collect"
"""The mnemonic of ganache's ``--wallet.deterministic`` accounts (public)."""
HD_PATH = "m/44'/60'/0'/0/{index}"

HOST = "127.0.0.1"
ANVIL_HARDFORKS = ("shanghai", "cancun", "prague", "osaka")
GANACHE_HARDFORKS = ("london", "arrowGlacier", "grayGlacier", "merge", "shanghai")

NodeKind = Literal["anvil", "ganache"]


@dataclass
class LocalNode:
    """A running local node.

    Attributes:
        kind: ``"anvil"`` or ``"ganache"``.
        url: JSON-RPC endpoint, ``http://127.0.0.1:<port>``.
        chain_id: the chain id the node reports.
        private_keys: 0x-hex keys of the pre-funded test accounts (public test mnemonic).
        process: the node's process.
        log_path: file receiving the node's stdout and stderr.
    """

    kind: NodeKind
    url: str
    chain_id: int
    private_keys: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] | None = field(default=None, repr=False)
    dumps_state: bool = field(default=False, repr=False)
    """Whether the node writes a state file when it stops (anvil ``--dump-state``)."""

    @property
    def addresses(self) -> list[str]:
        """Checksummed addresses of :attr:`private_keys`, in the same order."""
        return [Account.from_key(k).address for k in self.private_keys]

    @property
    def running(self) -> bool:
        """Whether the node's process is still alive."""
        return self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> int:
        """Stop the node: SIGTERM (anvil dumps ``--dump-state`` then), wait, SIGKILL if needed.

        Returns the process exit status. Idempotent. The log file is removed.
        """
        if self.process.poll() is None:
            if self.dumps_state:
                self._quiesce()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)
        if self._log is not None:
            self._log.close()
            self._log = None
            self.log_path.unlink(missing_ok=True)
        return self.process.returncode

    def _quiesce(self, settle_s: float = 1.0) -> None:
        """Stop mining and let the block being mined finish before anvil dumps its state.

        anvil 1.7's on-exit dump can hold a block's state without the block (seen here: after
        a restart a receipt token existed but its ``ReceiptIssued`` log did not; reproduced by
        stopping it under a stream of transactions, 2 of 6 times). With automine off first,
        transactions still arriving wait in the pool (lost with it, as on any node that dies)
        and the dump is consistent (0 of 8). A node that does not answer is stopped anyway.
        """
        try:
            _rpc(self.url, "evm_setAutomine", [False], timeout_s=1.0)
            deadline = time.monotonic() + settle_s
            last = _rpc(self.url, "eth_blockNumber", timeout_s=1.0)
            while time.monotonic() < deadline:
                time.sleep(0.02)
                now = _rpc(self.url, "eth_blockNumber", timeout_s=1.0)
                if now == last:
                    return
                last = now
        except (OSError, ValueError, ChainError):
            return

    def log_tail(self, chars: int = 2000) -> str:
        """The last ``chars`` characters the node wrote (for error messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def find_node_modules(start: Path | None = None) -> Path:
    """The ``node_modules`` directory holding the toolchain packages.

    Looks in ``start`` (default: the current directory) and its parents, then in the checkout this
    module belongs to (editable installs).

    Raises:
        ChainError: none found; the message says to run ``npm ci``.
    """
    here = Path(__file__).resolve()
    candidates = [(start or Path.cwd()).resolve(), *(start or Path.cwd()).resolve().parents]
    candidates += list(here.parents)
    for d in candidates:
        nm = d / "node_modules"
        if (nm / "@foundry-rs").is_dir() or (nm / "ganache").is_dir():
            return nm
    raise ChainError("node_modules with anvil/ganache not found: run `npm ci` in the repository")


def _anvil_binary(node_modules: Path) -> Path:
    path = node_modules / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    if not path.is_file():
        raise ChainError(f"anvil binary missing at {path}: run `npm ci` in the repository")
    return path


def _ganache_command(node_modules: Path) -> list[str]:
    cli = node_modules / "ganache" / "dist" / "node" / "cli.js"
    if not cli.is_file():
        raise ChainError(f"ganache missing at {cli}: run `npm ci` in the repository")
    node = shutil.which("node")
    if node is None:
        raise ChainError("node is not on PATH (ganache runs under node)")
    return [node, str(cli)]


@cache
def derive_keys(mnemonic: str, count: int) -> tuple[str, ...]:
    """The first ``count`` private keys (0x-hex) of ``mnemonic`` on the path m/44'/60'/0'/0/i."""
    Account.enable_unaudited_hdwallet_features()
    return tuple(
        Account.from_mnemonic(mnemonic, account_path=HD_PATH.format(index=i)).key.to_0x_hex()
        for i in range(count)
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _ensure_port_free(port: int) -> None:
    # An explicit port already served by another node would answer our readiness probe.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR: a listener holds the port, TIME_WAIT leftovers of a stopped node do not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError as exc:
            raise ChainError(f"port {port} on {HOST} is in use: {exc.strerror}") from exc


def _rpc(url: str, method: str, params: Sequence[object] = (), timeout_s: float = 2.0) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    req = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        reply = json.loads(resp.read())
    if "error" in reply:
        raise ChainError(f"{method} failed: {reply['error']}")
    return reply["result"]


def _validate(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InputError(name, f"must be in [{low}, {high}], got {value}")


def _launch(
    kind: NodeKind,
    build: Callable[[int], list[str]],
    keys: Sequence[str],
    port: int | None,
    startup_timeout_s: float,
) -> LocalNode:
    """Start ``build(port)``, wait for JSON-RPC, check accounts; retry a taken port twice."""
    attempts = 1 if port is not None else 3
    if port is not None:
        _validate("port", port, 1, 65535)
        _ensure_port_free(port)
    last_error = ""
    for _ in range(attempts):
        p = port if port is not None else _free_port()
        log_fd, log_name = tempfile.mkstemp(prefix=f"xcr-{kind}-", suffix=".log")
        log = os.fdopen(log_fd, "wb")
        process = subprocess.Popen(
            build(p),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C for the parent is ours to handle, not the node's
        )
        node = LocalNode(kind, f"http://{HOST}:{p}", 0, list(keys), process, Path(log_name), log)
        try:
            node.chain_id = _wait_ready(node, startup_timeout_s)
            accounts = _rpc(node.url, "eth_accounts")
            expected = [a.lower() for a in node.addresses]
            if not isinstance(accounts, list) or [a.lower() for a in accounts] != expected:
                raise ChainError(f"{kind} accounts differ from the derived test keys: {accounts}")
            return node
        except ChainError as exc:
            last_error = str(exc)
            port_taken = "in use" in node.log_tail().lower()
            node.stop()
            if port is not None or not port_taken:
                raise
        except BaseException:
            node.stop()  # e.g. Ctrl-C while waiting: the node runs in its own session, stop it
            raise
    raise ChainError(f"{kind} did not start after {attempts} ports: {last_error}")


def _wait_ready(node: LocalNode, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not node.running:
            raise ChainError(
                f"{node.kind} exited with status {node.process.returncode} before answering:\n"
                f"{node.log_tail()}"
            )
        try:
            return int(str(_rpc(node.url, "eth_chainId", timeout_s=1.0)), 16)
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            time.sleep(0.05)
    raise ChainError(f"{node.kind} did not answer JSON-RPC within {timeout_s}s:\n{node.log_tail()}")


def start_anvil(
    *,
    port: int | None = None,
    chain_id: int = 31337,
    hardfork: str = "shanghai",
    accounts: int = 10,
    balance_eth: int = 10_000,
    dump_state: Path | None = None,
    load_state: Path | None = None,
    extra_args: Sequence[str] = (),
    node_modules: Path | None = None,
    startup_timeout_s: float = 30.0,
) -> LocalNode:
    """Start anvil on 127.0.0.1 and return it once JSON-RPC answers; the caller must ``stop()`` it.

    Args:
        port: TCP port; default a free one.
        chain_id: chain id (1 .. 2^53-1).
        hardfork: one of ``ANVIL_HARDFORKS`` (default shanghai, as the artifacts are compiled for).
        accounts: number of pre-funded accounts (1 .. 100) from :data:`ANVIL_MNEMONIC`.
        balance_eth: balance of each account in ether.
        dump_state: file anvil writes its state to when it stops.
        load_state: state file (from ``dump_state``) to start from.
        extra_args: further anvil arguments, passed as they are.
        node_modules: where the npm packages are (default: :func:`find_node_modules`).
        startup_timeout_s: how long to wait for JSON-RPC.

    Raises:
        InputError: an argument is out of range.
        ChainError: the binary is missing or anvil did not start.
    """
    _validate("chain_id", chain_id, 1, 2**53 - 1)
    _validate("accounts", accounts, 1, 100)
    _validate("balance_eth", balance_eth, 0, 10**12)
    if hardfork not in ANVIL_HARDFORKS:
        raise InputError(
            "hardfork", f"must be one of {', '.join(ANVIL_HARDFORKS)}, got {hardfork!r}"
        )
    if load_state is not None and not Path(load_state).is_file():
        raise InputError("load_state", f"no such state file: {load_state}")
    binary = _anvil_binary(node_modules or find_node_modules())

    def build(p: int) -> list[str]:
        cmd = [
            str(binary), "--host", HOST, "--port", str(p), "--chain-id", str(chain_id),
            "--hardfork", hardfork, "--accounts", str(accounts), "--balance", str(balance_eth),
            "--mnemonic", ANVIL_MNEMONIC,
        ]  # fmt: skip
        if dump_state is not None:
            cmd += ["--dump-state", str(dump_state)]
        if load_state is not None:
            cmd += ["--load-state", str(load_state)]
        return cmd + list(extra_args)

    keys = derive_keys(ANVIL_MNEMONIC, accounts)
    node = _launch("anvil", build, keys, port, startup_timeout_s)
    node.dumps_state = dump_state is not None
    return node


def start_ganache(
    *,
    port: int | None = None,
    chain_id: int = 1337,
    hardfork: str = "shanghai",
    accounts: int = 10,
    balance_eth: int = 10_000,
    extra_args: Sequence[str] = (),
    node_modules: Path | None = None,
    startup_timeout_s: float = 60.0,
) -> LocalNode:
    """Start ganache (deterministic wallet) on 127.0.0.1; the caller must ``stop()`` it.

    Args:
        port: TCP port; default a free one.
        chain_id: chain id (1 .. 2^53-1).
        hardfork: one of ``GANACHE_HARDFORKS`` (ganache 7.9 tops out at shanghai).
        accounts: number of pre-funded accounts (1 .. 100) from :data:`GANACHE_MNEMONIC`.
        balance_eth: balance of each account in ether.
        extra_args: further ganache arguments, passed as they are.
        node_modules: where the npm packages are (default: :func:`find_node_modules`).
        startup_timeout_s: how long to wait for JSON-RPC.

    Raises:
        InputError: an argument is out of range.
        ChainError: ganache is missing or did not start.
    """
    _validate("chain_id", chain_id, 1, 2**53 - 1)
    _validate("accounts", accounts, 1, 100)
    _validate("balance_eth", balance_eth, 0, 10**12)
    if hardfork not in GANACHE_HARDFORKS:
        raise InputError(
            "hardfork", f"must be one of {', '.join(GANACHE_HARDFORKS)}, got {hardfork!r}"
        )
    command = _ganache_command(node_modules or find_node_modules())

    def build(p: int) -> list[str]:
        return [
            *command, "--server.host", HOST, "--server.port", str(p),
            "--chain.chainId", str(chain_id), "--chain.hardfork", hardfork,
            "--wallet.deterministic", "--wallet.totalAccounts", str(accounts),
            "--wallet.defaultBalance", str(balance_eth), "--logging.quiet",
            *extra_args,
        ]  # fmt: skip

    keys = derive_keys(GANACHE_MNEMONIC, accounts)
    return _launch("ganache", build, keys, port, startup_timeout_s)


@contextlib.contextmanager
def anvil(**kwargs: object) -> Iterator[LocalNode]:
    """Context manager over :func:`start_anvil` (same keyword arguments); stops the node on exit."""
    node = start_anvil(**kwargs)  # type: ignore[arg-type]
    try:
        yield node
    finally:
        node.stop()


@contextlib.contextmanager
def ganache(**kwargs: object) -> Iterator[LocalNode]:
    """Context manager over :func:`start_ganache` (same keyword arguments); stops it on exit."""
    node = start_ganache(**kwargs)  # type: ignore[arg-type]
    try:
        yield node
    finally:
        node.stop()
