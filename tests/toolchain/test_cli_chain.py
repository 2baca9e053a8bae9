"""``xcr chain up``: anvil on 127.0.0.1 with labelled test keys, stopped cleanly by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console
from web3 import HTTPProvider, Web3

from xcr_py.chain.nodes import ANVIL_MNEMONIC, LocalNode, derive_keys
from xcr_py.cli import cli
from xcr_py.cli.chain import TEST_KEYS_LABEL, _describe, _print_rich

XCR = [sys.executable, "-c", "from xcr_py.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes once reaped by its parent.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _start(*args: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
    proc = subprocess.Popen(
        [*XCR, "chain", "up", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    return proc, json.loads(line)


def test_up_serves_until_sigint_then_stops_the_node(tmp_path: Path) -> None:
    port = _free_port()
    proc, info = _start("--port", str(port), "--chain-id", "777", "--hardfork", "cancun")
    try:
        assert info["url"] == f"http://127.0.0.1:{port}"
        assert info["keys"] == TEST_KEYS_LABEL
        w3 = Web3(HTTPProvider(str(info["url"])))
        assert w3.eth.chain_id == 777 == info["chain_id"]
        accounts = info["accounts"]
        assert isinstance(accounts, list) and len(accounts) == 10
        assert [a["private_key"] for a in accounts] == list(derive_keys(ANVIL_MNEMONIC, 10))
        assert [a["address"] for a in accounts] == w3.eth.accounts
        assert accounts[0]["balance"] == {"value": 10_000, "unit": "ETH", "method": "declared"}
        anvil_pid = int(str(info["pid"]))
        assert _pid_alive(anvil_pid)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "anvil stopped" in err
    assert not _pid_alive(anvil_pid)


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "anvil-state.json"
    proc, info = _start("--port", str(_free_port()), "--state", str(state))
    fresh = "0x000000000000000000000000000000000000dEaD"
    try:
        w3 = Web3(HTTPProvider(str(info["url"])))
        accounts = info["accounts"]
        assert isinstance(accounts, list)
        tx = w3.eth.send_transaction({"from": accounts[0]["address"], "to": fresh, "value": 5})
        w3.eth.wait_for_transaction_receipt(tx)
    finally:
        proc.terminate()  # SIGTERM is handled like Ctrl-C
        proc.communicate(timeout=30)
    assert proc.returncode == 0 and state.is_file()
    proc, info = _start("--port", str(_free_port()), "--state", str(state))
    try:
        assert Web3(HTTPProvider(str(info["url"]))).eth.get_balance(fresh) == 5
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_port_in_use_fails_with_a_message(anvil_node: LocalNode) -> None:
    port = anvil_node.url.rsplit(":", 1)[1]
    result = CliRunner().invoke(cli, ["chain", "up", "--port", port])
    assert result.exit_code == 1
    assert f"port {port}" in result.output and "in use" in result.output


def test_bad_hardfork_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["chain", "up", "--hardfork", "frontier"])
    assert result.exit_code == 2 and "hardfork" in result.output


def test_table_labels_the_keys_as_test_keys(anvil_node: LocalNode) -> None:
    console = Console(record=True, width=200)
    _print_rich(_describe(anvil_node, "shanghai"), console)
    text = console.export_text()
    assert TEST_KEYS_LABEL.upper() in text and anvil_node.url in text
    assert anvil_node.private_keys[0] in text and anvil_node.addresses[0] in text
