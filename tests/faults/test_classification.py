"""Transport failures are transient: never read as a (permanent) revert."""

from __future__ import annotations

import socket

import pytest
from web3 import Web3

from xcr_py.chain.contracts import Sender, default_decoder
from xcr_py.client.settle import classify
from xcr_py.errors import ChainError, ContractRevert


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once closed


def test_refused_rpc_is_a_transient_chain_error() -> None:
    w3 = Web3(Web3.HTTPProvider(_dead_url()))
    sender = Sender(w3, "0x" + "11" * 32)
    with pytest.raises(ChainError) as err:
        sender.call(lambda: w3.eth.block_number)
    assert not isinstance(err.value, ContractRevert)
    permanent, name, _ = classify(err.value)
    assert (permanent, name) == (False, "ChainError")


def test_hex_in_a_transport_error_text_is_not_revert_data() -> None:
    # urllib3 1.x put "<HTTPConnection object at 0x7f12ab34cd50>" into its messages.
    exc = ConnectionError("<urllib3.connection.HTTPConnection object at 0x7f12ab34cd50>: refused")
    assert default_decoder().from_exception(exc) is None
    revert = default_decoder().from_exception(RuntimeError("execution reverted: 0x7f12ab34cd50"))
    assert revert is not None and revert.name == "UnknownRevert"  # the same text, not transport
