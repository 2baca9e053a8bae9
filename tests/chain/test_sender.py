"""Locally signed transactions and revert decoding."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from tests.chain.helpers import Env
from xcr_py.chain import Sender
from xcr_py.chain.contracts import RevertDecoder, default_decoder
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
