"""anvil and ganache from node_modules: start, answer, hold the derived keys, stop cleanly."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3RPCError

from xcr_py.chain.nodes import (
    ANVIL_MNEMONIC,
    LocalNode,
    anvil,
    derive_keys,
    find_node_modules,
    start_anvil,
    start_ganache,
)
from xcr_py.errors import ChainError, InputError

# Creation code PUSH0 TLOAD STOP: TLOAD exists from cancun on, so shanghai rejects it.
TLOAD_INIT_CODE = "0x5f5c00"


def _send(w3: Web3, key: str, to: str, wei: int) -> None:
    acct = Account.from_key(key)
    tx = {
        "to": to,
        "value": wei,
        "gas": 21_000,
        "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(acct.address),
        "chainId": w3.eth.chain_id,
    }
    signed = acct.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1


@pytest.mark.parametrize("fixture", ["anvil_node", "ganache_node"])
def test_node_fixture_answers_with_funded_derived_accounts(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    node: LocalNode = request.getfixturevalue(fixture)
    assert node.url.startswith("http://127.0.0.1:")
    w3 = Web3(HTTPProvider(node.url))
    assert w3.eth.chain_id == node.chain_id == {"anvil_node": 31337, "ganache_node": 1337}[fixture]
    assert [a.lower() for a in w3.eth.accounts] == [a.lower() for a in node.addresses]
    assert len(node.private_keys) == 10
    # A key really controls its account: a signed transfer from it is mined.
    fresh = Account.create().address
    _send(w3, node.private_keys[-1], fresh, 12345)
    assert w3.eth.get_balance(fresh) == 12345


def test_eth_tester_keys_fund_the_embedded_chain(eth_tester_keys: list[str]) -> None:
    w3 = Web3(Web3.EthereumTesterProvider())
    assert len(eth_tester_keys) == 10
    assert [Account.from_key(k).address for k in eth_tester_keys] == w3.eth.accounts
    assert w3.eth.get_balance(w3.eth.accounts[0]) > 0


def test_anvil_keys_are_derived_from_the_public_test_mnemonic() -> None:
    keys = derive_keys(ANVIL_MNEMONIC, 2)
    # The first anvil account, as documented by Foundry.
    assert Account.from_key(keys[0]).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_anvil_options_and_clean_stop(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    fresh = Account.create().address
    with anvil(chain_id=4242, hardfork="cancun", accounts=3, dump_state=state) as node:
        w3 = Web3(HTTPProvider(node.url))
        assert w3.eth.chain_id == 4242 and len(node.private_keys) == 3
        assert w3.eth.call({"data": TLOAD_INIT_CODE}) == b""  # a cancun opcode runs
        _send(w3, node.private_keys[0], fresh, 777)
    assert not node.running and node.process.returncode is not None
    assert not node.log_path.exists()
    assert state.is_file() and state.stat().st_size > 0
    # The dumped state comes back with --load-state.
    with anvil(chain_id=4242, load_state=state) as again:
        assert Web3(HTTPProvider(again.url)).eth.get_balance(fresh) == 777
    with anvil() as shanghai, pytest.raises(Web3RPCError, match="NotActivated"):
        Web3(HTTPProvider(shanghai.url)).eth.call({"data": TLOAD_INIT_CODE})


def test_stop_is_idempotent_and_kills_a_stuck_node() -> None:
    node = start_anvil()
    node.process.send_signal(19)  # SIGSTOP: the node cannot react to SIGTERM any more
    node.stop(timeout_s=0.5)
    assert not node.running
    assert node.stop() == node.process.returncode


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"chain_id": 0}, "chain_id"),
        ({"accounts": 101}, "accounts"),
        ({"hardfork": "frontier"}, "hardfork"),
        ({"load_state": Path("/nonexistent/state.json")}, "load_state"),
    ],
)
def test_bad_anvil_arguments_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError, match=field) as info:
        start_anvil(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_ganache_rejects_hardforks_past_shanghai() -> None:
    with pytest.raises(InputError, match="hardfork"):
        start_ganache(hardfork="cancun")


def test_port_in_use_is_a_clear_error(anvil_node: LocalNode) -> None:
    port = int(anvil_node.url.rsplit(":", 1)[1])
    with pytest.raises(ChainError, match=f"port {port} .* in use"):
        start_anvil(port=port, startup_timeout_s=10)


def test_missing_node_modules_says_to_run_npm_ci(tmp_path: Path) -> None:
    with pytest.raises(ChainError, match="npm ci"):
        start_anvil(node_modules=tmp_path)
    assert find_node_modules().name == "node_modules"


def test_interrupt_while_starting_stops_the_node(monkeypatch: pytest.MonkeyPatch) -> None:
    import xcr_py.chain.nodes as nodes

    started: list[LocalNode] = []

    def interrupted(node: LocalNode, timeout_s: float) -> int:
        started.append(node)
        raise KeyboardInterrupt

    monkeypatch.setattr(nodes, "_wait_ready", interrupted)
    with pytest.raises(KeyboardInterrupt):
        start_anvil()
    assert len(started) == 1 and not started[0].running


# Runtime "LOG0; slot0 += 1": every call leaves one log and counts itself in storage.
_LOG_AND_COUNT = "60006000a0" + "60016000540160005500"
_LOG_AND_COUNT_INIT = "0x600f80600b6000396000f3" + _LOG_AND_COUNT


def _call_until_stopped(w3: Web3, key: str, address: str, done: threading.Event) -> None:
    """Send calls to ``address`` back to back until ``done`` or the node goes away."""
    account = Account.from_key(key)
    nonce = w3.eth.get_transaction_count(account.address)
    chain_id, gas_price = w3.eth.chain_id, w3.eth.gas_price
    while not done.is_set():
        raw = account.sign_transaction({
            "to": address, "data": "0x", "value": 0, "gas": 60_000, "gasPrice": gas_price,
            "nonce": nonce, "chainId": chain_id,
        }).raw_transaction
        try:
            w3.eth.send_raw_transaction(raw)
        except Exception:  # the node went away: the stream ends
            return
        nonce += 1


def test_a_state_dump_taken_under_a_stream_of_transactions_is_consistent(
        tmp_path: Path) -> None:
    """stop() stops mining before anvil dumps: the reloaded chain has a log for every call
    its storage counted (anvil's own on-exit dump lost a block's log 2 of 6 times here)."""
    from xcr_py.chain import Sender, connect

    state = tmp_path / "state.json"
    node = start_anvil(dump_state=state)
    try:
        w3 = connect(node.url)
        counter = Sender(w3, node.private_keys[0]).send(None, _LOG_AND_COUNT_INIT)
        address = counter.contract_address
        assert address is not None
        for _ in range(3):
            done = threading.Event()
            sender = threading.Thread(target=_call_until_stopped,
                                      args=(w3, node.private_keys[1], address, done))
            sender.start()
            time.sleep(0.4)
            node.stop()
            done.set()
            sender.join(10)
            node = start_anvil(load_state=state, dump_state=state)
            w3 = connect(node.url)
            logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": address})
            counted = int.from_bytes(w3.eth.get_storage_at(address, 0), "big")
            assert counted > 0 and len(logs) == counted, (len(logs), counted)
        Sender(w3, node.private_keys[2]).send(address, "0x")  # the reloaded node mines
        assert int.from_bytes(w3.eth.get_storage_at(address, 0), "big") == counted + 1
    finally:
        node.stop()
