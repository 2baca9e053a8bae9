"""Binary CIDs of the blocks XCR stores, and checking a block against its CID.

XCR blocks are sha2-256 only, with codec ``raw`` (file leaves) or ``dag-pb`` (file nodes,
CIDv0 leaves). Parsing is done here by hand because it sits on the per-block hot path
(``multiformats.CID.decode`` costs ~0.3 ms a call); :func:`as_binary_cid` accepts either form.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from multiformats import CID

from xcr_py.content.cid import cid_from_binary, parse_cid
from xcr_py.errors import BlockCorrupted, ContentError

__all__ = [
    "CODEC_DAG_PB",
    "CODEC_RAW",
    "BlockId",
    "as_binary_cid",
    "block_key",
    "cid_text",
    "parse_binary_cid",
    "verify_block",
]

CODEC_RAW = 0x55
CODEC_DAG_PB = 0x70
_SHA2_256 = 0x12


@dataclass(frozen=True, slots=True)
class BlockId:
    """A parsed binary CID: version (0 or 1), codec code, and the sha2-256 digest."""

    version: int
    codec: int
    digest: bytes


def parse_binary_cid(cid: bytes) -> BlockId:
    """Parse a binary sha2-256 CID (v0, or v1 with a one-byte codec such as raw/dag-pb).

    Raises:
        ContentError: not such a CID.
    """
    if len(cid) == 34 and cid[0] == _SHA2_256 and cid[1] == 32:
        return BlockId(0, CODEC_DAG_PB, cid[2:])
    if len(cid) == 36 and cid[0] == 1 and cid[1] < 0x80 and cid[2] == _SHA2_256 and cid[3] == 32:
        return BlockId(1, cid[1], cid[4:])
    raise ContentError(
        f"unsupported CID {cid.hex()}: XCR stores sha2-256 CIDv0 and CIDv1 with raw or dag-pb codec"
    )


def as_binary_cid(cid: CID | str | bytes) -> bytes:
    """The binary form of a CID given as :class:`multiformats.CID`, text or bytes."""
    if isinstance(cid, bytes):
        return cid
    if isinstance(cid, str):
        cid = parse_cid(cid)
    return bytes(cid)


def block_key(cid: bytes) -> str:
    """A file-system-safe, case-insensitive name for a block: base32 of the binary CID.

    For a CIDv1 this is its usual ``b…`` text form.
    """
    return _block_key(bytes(cid))


@lru_cache(maxsize=8192)
def _block_key(cid: bytes) -> str:
    # Same text as multibase.encode(cid, "base32") (RFC 4648, lowercase, unpadded, "b"
    # prefix) at ~1/25 of its cost. Cached: one stored block asks for its key 3-4 times
    # (path, pin, CID text), and base64's base32 is pure Python (~5 us a call).
    return "b" + base64.b32encode(cid).decode("ascii").lower().rstrip("=")


def cid_text(cid: bytes) -> str:
    """The usual text of a binary CID (v1 base32, v0 base58btc), as ``str(cid_from_binary())``.

    A CIDv1's is its :func:`block_key`, computed without building a multiformats object
    (whose runtime type checks cost ~0.5 ms): this runs for every stored receipt and proof.
    """
    return block_key(cid) if cid[:1] == b"\x01" else str(cid_from_binary(cid))


def verify_block(cid: bytes, data: bytes, *, where: str = "") -> None:
    """Check that ``data`` hashes to ``cid``.

    Raises:
        BlockCorrupted: it does not; the message names the CID (and ``where`` it was read).
    """
    expected = parse_binary_cid(cid).digest
    if hashlib.sha256(data).digest() != expected:
        place = f" ({where})" if where else ""
        raise BlockCorrupted(f"block {block_key(cid)}{place} does not hash to its CID")
