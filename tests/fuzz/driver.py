"""A thin, fast chain driver for the contract state machine: calls, sends, snapshots.

The production path (:class:`xcr_py.chain.Sender`) estimates gas for every transaction, which on
py-evm replays the transaction ~13 times; a fuzzer sending thousands of transactions cannot afford
that. The driver instead decides by the model: an action the model expects to revert is run as an
``eth_call`` (the revert data is decoded to its custom error and nothing is sent, so nothing can
change), and an action it expects to succeed is sent with a fixed gas limit from a node-held dev
account (no local signing) and must be mined with status 1. Each example starts from a snapshot of
one deployment, so examples are independent without paying for a deploy each time.

Two backends: the embedded eth-tester (py-evm, called directly, not through web3's formatters)
and any JSON-RPC node with unlocked dev accounts and ``evm_snapshot`` (anvil), where the per-step
reads go out as one JSON-RPC batch.
"""

from __future__ import annotations

import ast
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from eth_utils import to_checksum_address

from xcr_py.chain.contracts import default_decoder
from xcr_py.errors import ContractRevert

__all__ = ["Driver", "EmbeddedDriver", "Log", "Reverted", "RpcDriver"]

GAS_LIMIT = 3_000_000
"""Fixed gas for sent transactions: well above any XCR transaction (single ~120k, batch ~150k)."""


class Reverted(Exception):
    """A call or transaction reverted; ``error`` is the decoded custom error."""

    def __init__(self, error: ContractRevert) -> None:
        self.error = error
        super().__init__(str(error))


@dataclass(frozen=True)
class Log:
    """One event log: emitting address (lower-case hex), topics, data."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes


class Driver(Protocol):
    """What the state machine needs from a chain."""

    chain_id: int

    def call(self, sender: str, to: str, data: bytes) -> bytes:
        """``eth_call``; raises :class:`Reverted`."""

    def reads(self, items: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """Many read-only calls that must not revert, at the latest block."""

    def send(self, sender: str, to: str, data: bytes) -> list[Log]:
        """Send a transaction from a dev account; returns its logs; raises :class:`Reverted`."""

    def storage(self, items: Sequence[tuple[str, int]]) -> list[int]:
        """Storage words of ``(address, slot)`` pairs at the latest block."""

    def logs(self, address: str, from_block: int) -> list[Log]:
        """Every log of ``address`` in blocks ``from_block`` .. latest."""

    def block_number(self) -> int:
        """Number of the latest block."""

    @property
    def start_block(self) -> int:
        """First block after the snapshot (examples' events start there)."""

    def snapshot(self) -> None:
        """Remember the current state as the start of every example."""

    def reset(self) -> None:
        """Return to the snapshot."""

    def timestamp(self) -> int:
        """Latest block timestamp, unix seconds."""


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _decode(data: bytes) -> Reverted:
    return Reverted(default_decoder().decode(data))


class EmbeddedDriver:
    """eth-tester (py-evm) in process, called directly.

    Args:
        tester: the ``EthereumTester`` behind an embedded web3 connection.
        chain_id: its chain id.
    """

    def __init__(self, tester: Any, chain_id: int) -> None:
        self.tester = tester
        self.chain_id = chain_id
        self._snapshot: int | None = None
        self._from_block = 0

    def call(self, sender: str, to: str, data: bytes) -> bytes:
        from eth_tester.exceptions import TransactionFailed

        try:
            result = self.tester.call(
                {"from": sender, "to": to, "data": _hex(data), "gas": GAS_LIMIT}, "latest"
            )
        except TransactionFailed as exc:
            raise _decode(_tester_revert(exc)) from None
        return bytes.fromhex(result[2:]) if isinstance(result, str) else bytes(result)

    def reads(self, items: Sequence[tuple[str, bytes]]) -> list[bytes]:
        reader = self.tester.get_accounts()[0]  # eth_call from a funded account (it pays for gas)
        return [self.call(reader, to, data) for to, data in items]

    def send(self, sender: str, to: str, data: bytes) -> list[Log]:
        from eth_tester.exceptions import TransactionFailed

        tx = {
            "from": sender,
            "to": to,
            "data": _hex(data),
            "gas": GAS_LIMIT,
            "value": 0,
            "gas_price": 10**10,
        }
        try:
            tx_hash = self.tester.send_transaction(tx)
        except TransactionFailed as exc:
            raise _decode(_tester_revert(exc)) from None
        receipt = self.tester.get_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            self.call(sender, to, data)  # re-run to surface the revert reason
            raise AssertionError(f"transaction {tx_hash} failed without a decodable revert")
        return [
            Log(
                log["address"].lower(),
                tuple(bytes.fromhex(t[2:]) for t in log["topics"]),
                bytes.fromhex(log["data"][2:]),
            )
            for log in receipt["logs"]
        ]

    def storage(self, items: Sequence[tuple[str, int]]) -> list[int]:
        # one state object for all slots: building it costs ~0.6 ms, each slot then ~3 us
        chain = self.tester.backend.chain
        state = chain.get_vm(at_header=chain.get_canonical_head()).state
        return [state.get_storage(bytes.fromhex(address[2:]), slot) for address, slot in items]

    def logs(self, address: str, from_block: int) -> list[Log]:
        found = self.tester.get_logs(from_block=from_block, address=to_checksum_address(address))
        return [
            Log(
                log["address"].lower(),
                tuple(bytes.fromhex(t[2:]) for t in log["topics"]),
                bytes.fromhex(log["data"][2:]),
            )
            for log in found
        ]

    def block_number(self) -> int:
        return int(self.tester.get_block_by_number("latest")["number"])

    @property
    def start_block(self) -> int:
        return self._from_block

    def snapshot(self) -> None:
        # Reverting re-imports the snapshot block: an empty one makes a reset ~3 ms instead of ~60.
        self.tester.mine_blocks(1)
        self._snapshot = self.tester.take_snapshot()
        self._from_block = self.block_number() + 1

    def reset(self) -> None:
        assert self._snapshot is not None, "snapshot() first"
        self.tester.revert_to_snapshot(self._snapshot)

    def timestamp(self) -> int:
        return int(self.tester.get_block_by_number("latest")["timestamp"])


def _tester_revert(exc: Exception) -> bytes:
    """Revert bytes of an eth-tester TransactionFailed (bytes, or their ``repr`` as a string)."""
    raw = exc.args[0] if exc.args else b""
    if isinstance(raw, str) and raw[:2] in ("b'", 'b"'):
        raw = ast.literal_eval(raw)
    if not isinstance(raw, bytes):
        raise AssertionError(f"eth-tester failure without revert data: {exc!r}")
    return raw


class RpcDriver:
    """A JSON-RPC node (anvil) with unlocked dev accounts, ``evm_snapshot`` and batch requests.

    Args:
        url: the node's HTTP endpoint.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._session = requests.Session()
        self._ids = itertools.count(1)
        self._snapshot: str | None = None
        self._from_block = 0
        self.chain_id = int(self._rpc("eth_chainId", []), 16)

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _post(self, payload: Any) -> Any:
        response = self._session.post(self.url, json=payload, timeout=60)
        response.raise_for_status()
        return response.json()

    def _rpc(self, method: str, params: list[Any]) -> Any:
        answer = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        )
        if "error" in answer:
            raise _RpcError(answer["error"])
        return answer["result"]

    def call(self, sender: str, to: str, data: bytes) -> bytes:
        try:
            result = self._rpc(
                "eth_call",
                [{"from": sender, "to": to, "data": _hex(data), "gas": hex(GAS_LIMIT)}, "latest"],
            )
        except _RpcError as exc:
            raise _decode(exc.revert_data()) from None
        return bytes.fromhex(result[2:])

    def reads(self, items: Sequence[tuple[str, bytes]]) -> list[bytes]:
        if not items:
            return []
        first = next(self._ids)
        payload = [
            {
                "jsonrpc": "2.0",
                "id": first + i,
                "method": "eth_call",
                "params": [{"to": to, "data": _hex(data)}, "latest"],
            }
            for i, (to, data) in enumerate(items)
        ]
        self._ids = itertools.count(first + len(items))
        answers = sorted(self._post(payload), key=lambda a: a["id"])
        out = []
        for answer in answers:
            if "error" in answer:
                raise AssertionError(f"a state read reverted: {answer['error']}")
            out.append(bytes.fromhex(answer["result"][2:]))
        return out

    def send(self, sender: str, to: str, data: bytes) -> list[Log]:
        tx = {"from": sender, "to": to, "data": _hex(data), "gas": hex(GAS_LIMIT)}
        try:
            tx_hash = self._rpc("eth_sendTransaction", [tx])
        except _RpcError as exc:
            raise _decode(exc.revert_data()) from None
        receipt = self._rpc("eth_getTransactionReceipt", [tx_hash])
        for _ in range(1000):  # automine answers before the receipt is indexed, rarely
            if receipt is not None:
                break
            time.sleep(0.002)
            receipt = self._rpc("eth_getTransactionReceipt", [tx_hash])
        assert receipt is not None, f"no receipt for {tx_hash}"
        if int(receipt["status"], 16) != 1:
            self.call(sender, to, data)
            raise AssertionError(f"transaction {tx_hash} failed without a decodable revert")
        return [_rpc_log(log) for log in receipt["logs"]]

    def storage(self, items: Sequence[tuple[str, int]]) -> list[int]:
        if not items:
            return []
        first = next(self._ids)
        payload = [
            {
                "jsonrpc": "2.0",
                "id": first + i,
                "method": "eth_getStorageAt",
                "params": [address, hex(slot), "latest"],
            }
            for i, (address, slot) in enumerate(items)
        ]
        self._ids = itertools.count(first + len(items))
        answers = sorted(self._post(payload), key=lambda a: a["id"])
        if any("error" in a for a in answers):
            raise AssertionError(f"a storage read failed: {answers}")
        return [int(a["result"], 16) for a in answers]

    def logs(self, address: str, from_block: int) -> list[Log]:
        found = self._rpc(
            "eth_getLogs", [{"fromBlock": hex(from_block), "toBlock": "latest", "address": address}]
        )
        return [_rpc_log(log) for log in found]

    def block_number(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    @property
    def start_block(self) -> int:
        return self._from_block

    def snapshot(self) -> None:
        self._snapshot = self._rpc("evm_snapshot", [])
        self._from_block = self.block_number() + 1

    def reset(self) -> None:
        assert self._snapshot is not None, "snapshot() first"
        if not self._rpc("evm_revert", [self._snapshot]):
            raise AssertionError("evm_revert refused the snapshot")
        self._snapshot = self._rpc("evm_snapshot", [])  # anvil consumes a snapshot on revert

    def timestamp(self) -> int:
        return int(self._rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


def _rpc_log(log: dict[str, Any]) -> Log:
    return Log(
        log["address"].lower(),
        tuple(bytes.fromhex(t[2:]) for t in log["topics"]),
        bytes.fromhex(log["data"][2:]),
    )


class _RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error
        super().__init__(str(error))

    def revert_data(self) -> bytes:
        data = self.error.get("data")
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        raise AssertionError(f"node error without revert data: {self.error}")
