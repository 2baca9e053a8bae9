"""Read contract state straight from storage slots, laid out by solc's ``storageLayout``.

The invariants are checked after every step of every sequence. Through ``eth_call`` on py-evm a
view function costs 3-25 ms (a whole EVM execution); a storage slot read from one state object
costs microseconds. Slots are computed from the shipped artifacts' ``storageLayout`` by variable
and member *label*, so a re-packed layout (a gas change) is followed automatically, and a renamed
variable fails loudly (``KeyError``). Reading storage also means the invariants do not trust the
contracts' own view functions; ``test_storage_reader_agrees_with_views`` proves the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from eth_utils import keccak, to_checksum_address

from xcr_py.chain.contracts import load_artifact

__all__ = ["Layout", "Read", "SlotReader", "fetch", "layout"]


class SlotReader(Protocol):
    """What :func:`fetch` needs from a driver."""

    def storage(self, items: Sequence[tuple[str, int]]) -> list[int]:
        """Values of ``(address, slot)`` pairs at the latest block."""


@dataclass(frozen=True)
class Read:
    """Slots to read at ``address`` and how to turn their words into a value."""

    address: str
    slots: tuple[int, ...]
    decode: Callable[[list[int]], Any]


def _key_bytes(key_type: str, key: Any) -> bytes:
    if key_type == "t_address":
        return bytes(12) + bytes.fromhex(str(key)[2:])
    if key_type.startswith(("t_uint", "t_enum")):
        return int(key).to_bytes(32, "big")
    if key_type == "t_bytes32":
        return bytes(key)
    raise NotImplementedError(f"mapping key type {key_type}")


def _value(type_id: str, word: int, offset: int, size: int) -> Any:
    raw = (word >> (8 * offset)) & ((1 << (8 * size)) - 1)
    if type_id == "t_address":
        return to_checksum_address(raw.to_bytes(20, "big"))
    if type_id == "t_bool":
        return bool(raw)
    if type_id.startswith("t_bytes") and type_id != "t_bytes_storage":
        return raw.to_bytes(size, "big")
    return raw  # uintN, enum


class Layout:
    """Storage layout of one shipped contract (``xcr_py/chain/artifacts/<name>.json``)."""

    def __init__(self, contract_name: str) -> None:
        layout = load_artifact(contract_name)["storageLayout"]
        self._vars = {v["label"]: v for v in layout["storage"]}
        self._types: dict[str, Any] = layout["types"]

    def read(self, address: str, var: str, *keys: Any) -> Read:
        """A read of state variable ``var``, through mapping ``keys``.

        Value types decode to ``int`` / checksummed address / ``bool`` / ``bytes``; structs to a
        dict of their value-type members (strings and mappings inside are skipped).
        """
        entry = self._vars[var]
        slot, offset, type_id = int(entry["slot"]), int(entry["offset"]), entry["type"]
        for key in keys:
            t = self._types[type_id]
            assert t["encoding"] == "mapping", f"{var}: {type_id} is not a mapping"
            slot = int.from_bytes(
                keccak(_key_bytes(t["key"], key) + slot.to_bytes(32, "big")), "big"
            )
            offset, type_id = 0, t["value"]
        t = self._types[type_id]
        if "members" not in t:
            size = int(t["numberOfBytes"])
            return Read(address, (slot,), lambda w: _value(type_id, w[0], offset, size))
        members = [
            (
                m["label"],
                int(m["slot"]),
                int(m["offset"]),
                m["type"],
                int(self._types[m["type"]]["numberOfBytes"]),
            )
            for m in t["members"]
            if self._types[m["type"]]["encoding"] == "inplace"
        ]
        words = sorted({rel for _, rel, _, _, _ in members})
        base = slot

        def decode(values: list[int]) -> dict[str, Any]:
            by_slot = dict(zip(words, values, strict=True))
            return {
                label: _value(tid, by_slot[rel], off, size)
                for label, rel, off, tid, size in members
            }

        return Read(address, tuple(base + rel for rel in words), decode)


@cache
def layout(contract_name: str) -> Layout:
    """The cached :class:`Layout` of a shipped contract."""
    return Layout(contract_name)


def fetch(reader: SlotReader, reads: Sequence[Read]) -> list[Any]:
    """Run ``reads`` as one batch of slot reads and decode each."""
    flat = reader.storage([(r.address, s) for r in reads for s in r.slots])
    out, i = [], 0
    for r in reads:
        out.append(r.decode(flat[i : i + len(r.slots)]))
        i += len(r.slots)
    return out
