"""EIP-712 typed reports the XCR controller accepts, their signatures, and the batch Merkle tree.

The types, field order and the leaf encoding mirror ``contracts/XcrController.sol`` exactly:

* domain: name ``"XCR"``, version ``"1"``, ``chainId``, ``verifyingContract`` = the controller;
* ``MeteringReport`` for one asset, ``BatchReport`` for a Merkle root over N :class:`Leaf`;
* leaf hash = ``keccak256(keccak256(abi.encode(assetDigest, receiptDigest, creator, energyMj,
  grossMg)))`` (OpenZeppelin StandardMerkleTree), inner node = keccak256 of the sorted pair, so a
  leaf cannot pass as a node: a leaf preimage is 160 bytes hashed twice, a node's 64 bytes once.

Units follow :mod:`xcr_py.units`: energy in mJ, intensity mg/kWh, PUE thousandths, emissions mg,
ratio basis points. Signatures for a k-of-n quorum must reach the contract ordered by ascending
signer address; :func:`sign_all` does that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address
from sha3 import keccak_256

from xcr_py.errors import InputError

__all__ = [
    "BatchReport",
    "Domain",
    "Leaf",
    "MerkleTree",
    "MeteringReport",
    "leaf_abi_encoding",
    "leaf_hash",
    "recover",
    "sign",
    "sign_all",
    "typed_data",
    "verify_proof",
]

_UINT_BITS = {"uint32": 32, "uint64": 64}

METERING_REPORT_FIELDS: tuple[tuple[str, str], ...] = (
    ("assetDigest", "bytes32"),
    ("receiptDigest", "bytes32"),
    ("creator", "address"),
    ("energyMj", "uint64"),
    ("intensityMgPerKwh", "uint32"),
    ("pueMilli", "uint32"),
    ("embodiedMg", "uint64"),
    ("grossMg", "uint64"),
    ("ratioBps", "uint32"),
    ("creditBatch", "uint32"),
    ("deadline", "uint64"),
)
BATCH_REPORT_FIELDS: tuple[tuple[str, str], ...] = (
    ("root", "bytes32"),
    ("receiptDigest", "bytes32"),
    ("owner", "address"),
    ("leafCount", "uint32"),
    ("energyMj", "uint64"),
    ("grossMg", "uint64"),
    ("ratioBps", "uint32"),
    ("creditBatch", "uint32"),
    ("deadline", "uint64"),
)
LEAF_FIELDS: tuple[tuple[str, str], ...] = (
    ("assetDigest", "bytes32"),
    ("receiptDigest", "bytes32"),
    ("creator", "address"),
    ("energyMj", "uint64"),
    ("grossMg", "uint64"),
)


def _check(obj: object, fields: Sequence[tuple[str, str]]) -> None:
    """Validate field types and bounds; raises InputError naming the field and the limit."""
    prefix = type(obj).__name__
    for sol_name, sol_type in fields:
        attr = _ATTR[sol_name]
        value = getattr(obj, attr)
        where = f"{prefix}.{attr}"
        if sol_type == "bytes32":
            if not isinstance(value, bytes) or len(value) != 32:
                raise InputError(where, f"must be 32 bytes, got {value!r:.80}")
        elif sol_type == "address":
            if not isinstance(value, str) or len(value) != 42 or not value.startswith("0x"):
                raise InputError(where, f"must be a 0x-prefixed 20-byte address, got {value!r}")
        else:
            bits = _UINT_BITS[sol_type]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
                raise InputError(where, f"must be an integer in [0, 2**{bits}), got {value!r}")


# Solidity field name -> Python attribute name.
_ATTR: dict[str, str] = {
    "assetDigest": "asset_digest",
    "receiptDigest": "receipt_digest",
    "creator": "creator",
    "energyMj": "energy_mj",
    "intensityMgPerKwh": "intensity_mg_per_kwh",
    "pueMilli": "pue_milli",
    "embodiedMg": "embodied_mg",
    "grossMg": "gross_mg",
    "ratioBps": "ratio_bps",
    "creditBatch": "credit_batch",
    "deadline": "deadline",
    "root": "root",
    "owner": "owner",
    "leafCount": "leaf_count",
}


@dataclass(frozen=True)
class Domain:
    """EIP-712 domain of one deployed controller."""

    chain_id: int
    verifying_contract: str
    name: str = "XCR"
    version: str = "1"

    def as_dict(self) -> dict[str, Any]:
        """The domain as eth-account expects it."""
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }


class _Struct:
    """Shared behaviour of the signed structs: validation, ABI tuple, EIP-712 message."""

    FIELDS: tuple[tuple[str, str], ...] = ()
    TYPE_NAME = ""

    def __post_init__(self) -> None:
        _check(self, self.FIELDS)

    def as_tuple(self) -> tuple[Any, ...]:
        """Values in Solidity field order, as a web3 contract call takes a struct."""
        return tuple(
            to_checksum_address(v) if t == "address" else v
            for (n, t), v in ((f, getattr(self, _ATTR[f[0]])) for f in self.FIELDS)
        )

    def message(self) -> dict[str, Any]:
        """The EIP-712 message (Solidity field names)."""
        return {n: v for (n, _), v in zip(self.FIELDS, self.as_tuple(), strict=True)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (bytes as 0x hex), Python attribute names."""
        return {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in asdict(self).items()}  # type: ignore[call-overload]


@dataclass(frozen=True)
class MeteringReport(_Struct):
    """A single-asset report. Units: mJ, mg/kWh, PUE thousandths, mg, bps, unix seconds."""

    asset_digest: bytes
    receipt_digest: bytes
    creator: str
    energy_mj: int
    intensity_mg_per_kwh: int
    pue_milli: int
    embodied_mg: int
    gross_mg: int
    ratio_bps: int
    credit_batch: int
    deadline: int

    FIELDS = METERING_REPORT_FIELDS
    TYPE_NAME = "MeteringReport"


@dataclass(frozen=True)
class BatchReport(_Struct):
    """A batch report: Merkle root over ``leaf_count`` leaves, their summed energy and emissions.

    The root is the report's id: one settlement per set of leaves.
    """

    root: bytes
    receipt_digest: bytes
    owner: str
    leaf_count: int
    energy_mj: int
    gross_mg: int
    ratio_bps: int
    credit_batch: int
    deadline: int

    FIELDS = BATCH_REPORT_FIELDS
    TYPE_NAME = "BatchReport"


@dataclass(frozen=True)
class Leaf(_Struct):
    """One asset of a batch. Units: energy mJ, gross emissions mg."""

    asset_digest: bytes
    receipt_digest: bytes
    creator: str
    energy_mj: int
    gross_mg: int

    FIELDS = LEAF_FIELDS
    TYPE_NAME = "Leaf"


def typed_data(report: MeteringReport | BatchReport, domain: Domain) -> dict[str, Any]:
    """The full EIP-712 typed-data document for ``report`` under ``domain``."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            report.TYPE_NAME: [{"name": n, "type": t} for n, t in report.FIELDS],
        },
        "primaryType": report.TYPE_NAME,
        "domain": domain.as_dict(),
        "message": report.message(),
    }


def sign(report: MeteringReport | BatchReport, domain: Domain, private_key: bytes | str) -> bytes:
    """65-byte signature (r || s || v) of ``report`` by ``private_key``."""
    signable = encode_typed_data(full_message=typed_data(report, domain))
    return bytes(Account.sign_message(signable, private_key).signature)


def recover(report: MeteringReport | BatchReport, domain: Domain, signature: bytes) -> str:
    """Checksummed address that produced ``signature`` over ``report``."""
    signable = encode_typed_data(full_message=typed_data(report, domain))
    return str(Account.recover_message(signable, signature=signature))


def sign_all(
    report: MeteringReport | BatchReport, domain: Domain, private_keys: Sequence[bytes | str]
) -> list[bytes]:
    """Signatures by every key, ordered by ascending signer address as the contract requires."""
    signed = [(Account.from_key(k).address, sign(report, domain, k)) for k in private_keys]
    signed.sort(key=lambda pair: int(pair[0], 16))
    return [sig for _, sig in signed]


def keccak(data: bytes) -> bytes:
    """keccak-256 of ``data`` (safe-pysha3's C code: ~1 us, eth-utils' ~6 us)."""
    return keccak_256(data).digest()


def leaf_hash(leaf: Leaf) -> bytes:
    """keccak256(keccak256(abi.encode(leaf))) as the contract and StandardMerkleTree compute it."""
    return keccak(keccak(leaf_abi_encoding(leaf)))


def leaf_abi_encoding(leaf: Leaf) -> bytes:
    """``abi.encode(leaf)``: every field is static, so five 32-byte words in field order.

    Written out because it runs once per batched asset and eth-abi's general encoder costs
    ~50 us a call; ``Leaf``'s own checks have already bounded every field (tests compare
    this with eth-abi).
    """
    return b"".join((leaf.asset_digest, leaf.receipt_digest,
                     bytes.fromhex(leaf.creator[2:]).rjust(32, b"\0"),
                     leaf.energy_mj.to_bytes(32, "big"), leaf.gross_mg.to_bytes(32, "big")))


def _hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def verify_proof(proof: Sequence[bytes], root: bytes, leaf: Leaf) -> bool:
    """OpenZeppelin ``MerkleProof.verify`` in Python."""
    node = leaf_hash(leaf)
    for sibling in proof:
        node = _hash_pair(node, sibling)
    return node == root


class MerkleTree:
    """OpenZeppelin StandardMerkleTree layout: sorted leaf hashes, complete binary tree in an array.

    Args:
        leaves: one or more leaves; duplicates (same hash) are rejected.
    """

    def __init__(self, leaves: Sequence[Leaf]) -> None:
        if not leaves:
            raise InputError("leaves", "a batch needs at least 1 leaf, got 0")
        hashes = [leaf_hash(leaf) for leaf in leaves]
        if len(set(hashes)) != len(hashes):
            raise InputError("leaves", "must be distinct (two leaves have the same hash)")
        self.leaves: tuple[Leaf, ...] = tuple(leaves)
        self._hashes = hashes
        order = sorted(range(len(leaves)), key=lambda i: hashes[i])
        n = len(leaves)
        tree: list[bytes] = [b""] * (2 * n - 1)
        self._position: dict[bytes, int] = {}
        for rank, i in enumerate(order):
            pos = len(tree) - 1 - rank
            tree[pos] = hashes[i]
            self._position[hashes[i]] = pos
        for pos in range(len(tree) - 1 - n, -1, -1):
            tree[pos] = _hash_pair(tree[2 * pos + 1], tree[2 * pos + 2])
        self._tree = tree

    @property
    def root(self) -> bytes:
        """The 32-byte Merkle root."""
        return self._tree[0]

    def proof(self, leaf: Leaf) -> list[bytes]:
        """Sibling hashes from ``leaf`` up to the root."""
        pos = self._position.get(leaf_hash(leaf))
        if pos is None:
            raise InputError("leaf", "is not in this tree")
        return self._path(pos)

    def proofs(self) -> list[list[bytes]]:
        """The proof of every leaf, in the order the leaves were given (no re-hashing)."""
        return [self._path(self._position[h]) for h in self._hashes]

    def _path(self, pos: int) -> list[bytes]:
        proof: list[bytes] = []
        while pos > 0:
            sibling = pos + 1 if pos % 2 == 1 else pos - 1
            proof.append(self._tree[sibling])
            pos = (pos - 1) // 2
        return proof

    def node(self, index: int) -> bytes:
        """Raw array node ``index`` (0 = root); for tests of leaf/node confusion."""
        return self._tree[index]
