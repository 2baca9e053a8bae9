"""Shipped contract artifacts, locally signed transactions, and reverts decoded to custom errors.

Transactions are built here, signed with an eth-account private key and sent raw, so the same code
works on the embedded chain, anvil, ganache and any remote RPC (no node-side accounts). Only web3
APIs present in both 7.x and 8.x are used.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, TypeVar

from eth_abi import decode as abi_decode
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import TransactionNotFound

from xcr_py.errors import ChainError, ContractRevert, InputError

__all__ = [
    "CONTRACT_NAMES",
    "RevertDecoder",
    "Sender",
    "TxResult",
    "bytecode",
    "encode_call",
    "load_artifact",
]

CONTRACT_NAMES = ("RemovalCredits", "CarbonReceipt", "XcrController")
"""The three XCR contracts, in deployment order."""

_HEX_DATA = re.compile(r"0x[0-9a-fA-F]{8,}")
# eth-tester (py-evm) puts the revert bytes into its message as a Python bytes literal.
_BYTES_LITERAL = re.compile(r"execution reverted: (b'.*'|b\".*\")\s*$", re.DOTALL)

T = TypeVar("T")


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """The compiled artifact ``xcr_py/chain/artifacts/<name>.json`` (abi, bytecode, ...)."""
    try:
        text = resources.files("xcr_py.chain").joinpath("artifacts", f"{name}.json").read_text()
    except FileNotFoundError as exc:
        raise ChainError(f"no compiled artifact for {name}; run scripts/compile.py") from exc
    artifact: dict[str, Any] = json.loads(text)
    return artifact


def bytecode(name: str) -> str:
    """Creation bytecode of ``name`` as 0x-prefixed hex."""
    code = load_artifact(name)["bytecode"]
    if isinstance(code, dict):  # some toolchains nest {"object": ...}
        code = code["object"]
    return code if code.startswith("0x") else "0x" + code


def _canonical_type(entry: Mapping[str, Any]) -> str:
    kind = entry["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in entry["components"])
        return f"({inner}){kind[5:]}"
    return str(kind)


class RevertDecoder:
    """Maps revert data to :class:`ContractRevert` using the custom errors of the given ABIs."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {
            bytes.fromhex("08c379a0"): ("Error", ["string"]),
            bytes.fromhex("4e487b71"): ("Panic", ["uint256"]),
        }
        for abi in abis:
            for entry in abi:
                if entry.get("type") != "error":
                    continue
                types = [_canonical_type(i) for i in entry["inputs"]]
                selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
                self._errors[selector] = (entry["name"], types)

    def decode(self, data: bytes) -> ContractRevert:
        """Decode raw revert data; unknown or empty data gives name ``"UnknownRevert"``."""
        if len(data) < 4 or data[:4] not in self._errors:
            return ContractRevert("UnknownRevert", ("0x" + data.hex(),))
        name, types = self._errors[data[:4]]
        try:
            args = tuple(
                to_checksum_address(v) if t == "address" else v
                for t, v in zip(types, abi_decode(types, data[4:]), strict=True)
            )
        except Exception:  # malformed arguments: keep the name, show the raw bytes
            return ContractRevert(name, ("0x" + data[4:].hex(),))
        return ContractRevert(name, args)

    def from_exception(self, exc: BaseException) -> ContractRevert | None:
        """Find revert data in a web3 / eth-tester / node exception and decode it; None if none."""
        if isinstance(exc, OSError):
            # Transport failures (requests/urllib3 errors are OSErrors) never carry revert data;
            # hex in their text (addresses, object ids) must not read as a permanent revert.
            return None
        data = _revert_data(exc)
        if data is None:
            text = " ".join(str(a) for a in exc.args)
            if "revert" in text.lower():
                return ContractRevert("UnknownRevert", (text[:200],))
            return None
        return self.decode(data)


def _revert_data(exc: BaseException) -> bytes | None:
    """Revert bytes in the shapes web3 7/8 (ContractCustomError.data), anvil and ganache use."""
    candidates: list[Any] = [getattr(exc, "data", None), *exc.args]
    while candidates:
        item = candidates.pop(0)
        if isinstance(item, bytes) and len(item) >= 4:
            return item
        if isinstance(item, str):
            literal = _BYTES_LITERAL.search(item)
            if literal:
                value = ast.literal_eval(literal.group(1))
                return value if len(value) >= 4 else None
            match = _HEX_DATA.search(item)
            if match and len(match.group(0)) % 2 == 0:
                return bytes.fromhex(match.group(0)[2:])
        elif isinstance(item, Mapping):
            candidates.extend(item.values())
        elif isinstance(item, list | tuple):
            candidates.extend(item)
    return None


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction."""

    tx_hash: str
    gas_used: int
    block_number: int
    logs: tuple[Any, ...]
    contract_address: str | None = None


class Sender:
    """Signs and sends transactions from one private key; reverts become :class:`ContractRevert`.

    Args:
        w3: the connection.
        private_key: hex or bytes key of the sending account.
        decoder: decoder for custom errors (defaults to the three XCR contracts' ABIs).
        gas_margin: multiplier on the node's gas estimate.
        receipt_timeout_s: how long to wait for a transaction to be mined.
        gas_price_ttl_s: how long a gas price asked from the node is reused.
    """

    def __init__(
        self,
        w3: Web3,
        private_key: str | bytes,
        decoder: RevertDecoder | None = None,
        gas_margin: float = 1.25,
        receipt_timeout_s: float = 120.0,
        gas_price_ttl_s: float = 2.0,
    ) -> None:
        self.w3 = w3
        self._account = Account.from_key(private_key)
        self.decoder = decoder or default_decoder()
        self.gas_margin = gas_margin
        self.receipt_timeout_s = receipt_timeout_s
        self._chain_id: int | None = None
        self._block_gas_limit: int | None = None
        self.gas_price_ttl_s = gas_price_ttl_s
        self._gas_price: tuple[int, float] | None = None
        self._next_nonce: int | None = None

    def __repr__(self) -> str:
        return f"Sender(address={self.address})"

    @property
    def address(self) -> str:
        """Checksummed sending address."""
        return str(self._account.address)

    def call(self, fn: Callable[[], T]) -> T:
        """Run a read-only call; a revert becomes :class:`ContractRevert`."""
        try:
            return fn()
        except ContractRevert:
            raise
        except Exception as exc:
            revert = self.decoder.from_exception(exc)
            if revert is None:
                raise ChainError(f"call failed: {type(exc).__name__}: {exc}") from exc
            raise revert from exc

    @property
    def chain_id(self) -> int:
        """The connection's chain id (asked once: a node never changes it under a connection)."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def _gas_cap(self) -> int:
        # Asked once; the limit moves slowly and only caps an estimate the node made itself.
        if self._block_gas_limit is None:
            self._block_gas_limit = int(self.w3.eth.get_block("latest")["gasLimit"])
        return self._block_gas_limit

    def send(self, to: str | None, data: str, value: int = 0) -> TxResult:
        """Estimate, sign, send and wait for one transaction (``to=None`` deploys ``data``)."""
        # No chainId in the estimate: web3's validation middleware would ask the node for it
        # twice per call to compare; it goes in just before signing.
        tx: dict[str, Any] = {"from": self.address, "data": data, "value": value}
        if to is not None:
            tx["to"] = to_checksum_address(to)
        try:
            estimate = self.w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
        except Exception as exc:
            revert = self.decoder.from_exception(exc)
            if revert is None:
                raise ChainError(f"gas estimation failed: {type(exc).__name__}: {exc}") from exc
            raise revert from exc
        tx["gas"] = min(int(estimate * self.gas_margin) + 10_000, self._gas_cap())
        del tx["from"]
        tx["chainId"] = self.chain_id
        tx_hash = self._sign_and_send(tx)
        try:
            receipt = self.wait_for_receipt(tx_hash)
        except ChainError:
            self._next_nonce = None  # the node may have dropped it: ask again next time
            raise
        if receipt["status"] != 1:
            raise ChainError(f"transaction {tx_hash.hex()} reverted after a successful estimate")
        address = receipt.get("contractAddress")
        return TxResult(
            tx_hash="0x" + bytes(tx_hash).hex().removeprefix("0x"),
            gas_used=int(receipt["gasUsed"]),
            block_number=int(receipt["blockNumber"]),
            logs=tuple(receipt["logs"]),
            contract_address=to_checksum_address(address) if address else None,
        )

    def _fees_and_nonce(self, fresh: bool) -> tuple[int, int]:
        """(gas price, nonce): asked from the node, or from this sender's recent asking.

        The nonce is counted here after the first ask (one key, one sender: the usual case);
        the gas price is reused for ``gas_price_ttl_s``. A node that refuses a transaction
        built from these is asked again (``fresh``), which also covers another sender
        using the same key.
        """
        now = time.monotonic()
        if fresh or self._gas_price is None or now - self._gas_price[1] > self.gas_price_ttl_s:
            self._gas_price = (int(self.w3.eth.gas_price), now)
        if fresh or self._next_nonce is None:
            self._next_nonce = int(self.w3.eth.get_transaction_count(
                self.address, "pending"))  # type: ignore[arg-type]
        return self._gas_price[0], self._next_nonce

    def _sign_and_send(self, tx: dict[str, Any]) -> bytes:
        """Sign ``tx`` with fees and nonce and send it; once more with fresh ones if refused."""
        cached = self._next_nonce is not None or self._gas_price is not None
        for fresh in (False, True):
            tx["gasPrice"], tx["nonce"] = self._fees_and_nonce(fresh)
            signed = self._account.sign_transaction(tx)
            try:
                tx_hash = bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction))
            except Exception as exc:  # nonce, funds, fee or a revert the node found at submission
                self._next_nonce, self._gas_price = None, None
                revert = self.decoder.from_exception(exc)
                if revert is not None and revert.name != "UnknownRevert":
                    raise revert from exc
                # A refusal of cached values (stale nonce or fee) is worth one fresh try; a
                # transport error is not (the node may have taken the transaction).
                if not fresh and cached and not isinstance(exc, OSError):
                    continue
                raise ChainError(
                    f"the node refused the transaction: {type(exc).__name__}: {exc}"
                ) from exc
            self._next_nonce = tx["nonce"] + 1
            return tx_hash
        raise AssertionError("unreachable")  # pragma: no cover

    def wait_for_receipt(self, tx_hash: bytes) -> Any:
        """Poll for the receipt: first after 0.5 ms, doubling to at most 100 ms.

        web3's ``wait_for_transaction_receipt`` sleeps a fixed 100 ms whenever the first
        look misses, and a node that mines on arrival (anvil, ganache) usually has the
        receipt within a millisecond: that sleep, not the node, set the pace of a run.
        """
        deadline = time.monotonic() + self.receipt_timeout_s
        delay = 0.0005
        while True:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                pass
            except Exception as exc:  # transport errors
                raise ChainError(f"no receipt for transaction 0x{bytes(tx_hash).hex()}: "
                                 f"{type(exc).__name__}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise ChainError(f"no receipt for transaction 0x{bytes(tx_hash).hex()} within "
                                 f"{self.receipt_timeout_s}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def transact(self, contract: Any, fn_name: str, *args: Any) -> TxResult:
        """Send ``contract.fn_name(*args)``."""
        return self.send(contract.address, encode_call(contract, fn_name, args))


def encode_call(contract: Any, fn_name: str, args: Sequence[Any]) -> str:
    """Calldata of ``contract.fn_name(*args)`` as 0x-hex.

    Plain Python values (ints, bytes, addresses, tuples, lists) go straight to the
    connection's ABI codec (``w3.codec``: web3's strict bytes checking included) with the
    function's cached selector and types, ~40x cheaper than web3's ``encode_abi``, whose
    normalisers cost ~5 ms a call. Anything the codec refuses is left to web3 for its
    conversions and error message. Unlike web3, the codec does not insist on EIP-55
    checksummed addresses (XCR's own callers pass checksummed ones).

    Raises:
        InputError: the arguments do not match the ABI (names the function).
    """
    entries = [e for e in contract.abi
               if e.get("type") == "function" and e.get("name") == fn_name]
    if len(entries) == 1:  # overloaded names are left to web3's resolution
        selector, types = _selector_and_types(json.dumps(entries[0], sort_keys=True))
        with contextlib.suppress(Exception):
            return "0x" + (selector + contract.w3.codec.encode(types, list(args))).hex()
    try:
        return str(contract.encode_abi(fn_name, args=list(args)))
    except Exception as exc:  # web3 rejects a value that does not fit the ABI type
        raise InputError(f"{fn_name}", f"arguments do not match the ABI: {exc}") from exc


@lru_cache(maxsize=256)
def _selector_and_types(entry_json: str) -> tuple[bytes, tuple[str, ...]]:
    """(4-byte selector, canonical input types) of one ABI function entry."""
    entry = json.loads(entry_json)
    types = tuple(_canonical_type(i) for i in entry["inputs"])
    return keccak(text=f"{entry['name']}({','.join(types)})")[:4], types


@cache
def default_decoder() -> RevertDecoder:
    """Decoder for every custom error of the shipped XCR contracts."""
    return RevertDecoder(load_artifact(name)["abi"] for name in CONTRACT_NAMES)
