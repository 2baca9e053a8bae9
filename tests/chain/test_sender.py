"""Locally signed transactions and revert decoding."""

from __future__ import annotations

import threading
import time

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from tests.chain.helpers import Env
from xcr_py.chain import Sender, connect, dev_private_keys
from xcr_py.chain.contracts import RevertDecoder, default_decoder
from xcr_py.chain.nodes import start_anvil
from xcr_py.errors import ChainError, ContractRevert


def test_unfunded_sender_is_a_chain_error(embedded_env: Env) -> None:
    sender = Sender(embedded_env.w3, Account.create().key)
    with pytest.raises(ChainError) as info:
        sender.send(embedded_env.deployment.controller, "0x", value=10**18)
    assert not isinstance(info.value, ContractRevert)


def test_sender_repr_hides_the_key() -> None:
    account = Account.create()
    sender = Sender.__new__(Sender)
    sender._account = account
    assert account.key.hex().removeprefix("0x") not in repr(sender)
    assert account.address in repr(sender)


def test_decoder_names_custom_errors_and_builtins() -> None:
    decoder = default_decoder()
    selector = keccak(text="XcrControllerGrossMismatch(uint64,uint256)")[:4]
    revert = decoder.decode(selector + abi_encode(["uint64", "uint256"], [5, 7]))
    assert (revert.name, revert.error_args) == ("XcrControllerGrossMismatch", (5, 7))
    message = bytes.fromhex("08c379a0") + abi_encode(["string"], ["boom"])
    assert decoder.decode(message).error_args == ("boom",)
    assert (
        decoder.decode(bytes.fromhex("4e487b71") + abi_encode(["uint256"], [0x11])).name == "Panic"
    )
    assert decoder.decode(b"\x01\x02\x03\x04").name == "UnknownRevert"
    assert decoder.decode(b"").name == "UnknownRevert"


def test_decoder_reads_hex_and_bytes_literal_shapes() -> None:
    decoder = RevertDecoder([[{"type": "error", "name": "E", "inputs": [{"type": "address"}]}]])
    data = keccak(text="E(address)")[:4] + abi_encode(["address"], ["0x" + "ab" * 20])
    from_hex = decoder.from_exception(
        ValueError({"message": "reverted", "data": "0x" + data.hex()})
    )
    from_literal = decoder.from_exception(Exception(f"execution reverted: {data!r}"))
    for revert in (from_hex, from_literal):
        assert revert is not None and revert.name == "E"
        assert revert.error_args == (to_checksum_address("0x" + "ab" * 20),)
    assert decoder.from_exception(ValueError("connection refused")) is None


def _funded_key(w3: Web3, funder_key: str) -> str:
    """A fresh account with 1 ETH, so nonces here are not shared with other tests."""
    account = Account.create()
    Sender(w3, funder_key).send(account.address, "0x", value=10**18)
    return "0x" + bytes(account.key).hex()


@pytest.fixture(params=("embedded", "anvil", "ganache"))
def chain(request: pytest.FixtureRequest) -> tuple[Web3, str]:
    """(connection, a funded dev key) on each backend."""
    if request.param == "embedded":
        w3 = connect("embedded")
        return w3, dev_private_keys(w3)[0]
    node = request.getfixturevalue(f"{request.param}_node")
    return connect(node.url), node.private_keys[-1]


def test_senders_sharing_a_key_recover_from_a_stale_counted_nonce(
        chain: tuple[Web3, str]) -> None:
    w3, funder = chain
    key = _funded_key(w3, funder)
    first, second = Sender(w3, key), Sender(w3, key)
    sink = Account.create().address
    start = w3.eth.get_transaction_count(first.address)
    hashes = [first.send(sink, "0x", value=1).tx_hash,
              second.send(sink, "0x", value=1).tx_hash,
              first.send(sink, "0x", value=1).tx_hash]  # its counted nonce is stale here
    assert len(set(hashes)) == 3
    assert w3.eth.get_transaction_count(first.address) == start + 3
    assert w3.eth.get_balance(sink) == 3


def test_gas_price_is_reused_only_within_its_ttl(embedded_env: Env) -> None:
    w3 = embedded_env.w3
    key = _funded_key(w3, embedded_env.stranger_key)
    sink = Account.create().address
    reusing, asking = Sender(w3, key, gas_price_ttl_s=3600), Sender(w3, key, gas_price_ttl_s=0)
    reusing.send(sink, "0x", value=1)
    asked_at = reusing._gas_price
    reusing.send(sink, "0x", value=1)
    assert reusing._gas_price == asked_at
    asking.send(sink, "0x", value=1)
    first = asking._gas_price
    asking.send(sink, "0x", value=1)
    assert asking._gas_price is not None and first is not None
    assert asking._gas_price[1] > first[1]


def test_receipt_is_polled_until_mined_and_a_timeout_forgets_the_nonce() -> None:
    node = start_anvil(extra_args=["--no-mining"])
    try:
        w3 = connect(node.url)
        sink = Account.create().address
        sender = Sender(w3, node.private_keys[0])
        miner = threading.Timer(0.3, lambda: w3.provider.make_request(  # type: ignore[arg-type]
            "evm_mine", []))
        started = time.monotonic()
        miner.start()
        result = sender.send(sink, "0x", value=1)
        assert time.monotonic() - started >= 0.3  # it waited for the block...
        assert w3.eth.get_balance(sink) == 1 and result.block_number == 1  # ...and saw it
        impatient = Sender(w3, sender._account.key, receipt_timeout_s=0.2)
        with pytest.raises(ChainError, match=r"within 0\.2s"):
            impatient.send(sink, "0x", value=1)
        assert impatient._next_nonce is None  # asked again next time, not counted on
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert w3.eth.get_balance(sink) == 2
    finally:
        node.stop()
