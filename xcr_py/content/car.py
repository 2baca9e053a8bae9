"""CAR v1 (Content Addressable aRchive) reading and writing, as ``ipfs dag export/import`` use.

Format: ``varint(len(header)) header`` then, per block, ``varint(len(cid)+len(data)) cid data``.
The header is the dag-cbor map ``{"roots": [CID, ...], "version": 1}``; dag-cbor orders map
keys by length, then bytewise, so ``roots`` comes first, and a CID is CBOR tag 42 around the
bytes ``0x00 || binary CID``. Only that header shape is encoded and decoded here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from xcr_py.content.unixfs import varint
from xcr_py.errors import ContentError

__all__ = ["read_car", "read_car_body", "write_car_block", "write_car_header"]

_MAX_HEADER = 1 << 20
_MAX_SECTION = 8 << 20  # Kubo's own block limit is 4 MiB; anything bigger is not a block


def _cbor_head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for size, code in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | code]) + value.to_bytes(size, "big")
    raise ValueError("CBOR value too large")


def _encode_header(roots: Iterable[bytes]) -> bytes:
    roots = list(roots)
    parts = [_cbor_head(5, 2), _cbor_head(3, 5), b"roots", _cbor_head(4, len(roots))]
    for cid in roots:
        parts += [b"\xd8\x2a", _cbor_head(2, len(cid) + 1), b"\x00", cid]
    parts += [_cbor_head(3, 7), b"version", _cbor_head(0, 1)]
    return b"".join(parts)


def write_car_header(out: BinaryIO, roots: Iterable[bytes]) -> None:
    """Write the CAR v1 header naming ``roots`` (binary CIDs)."""
    header = _encode_header(roots)
    out.write(varint(len(header)))
    out.write(header)


def write_car_block(out: BinaryIO, cid: bytes, data: bytes) -> None:
    """Write one block section."""
    out.write(varint(len(cid) + len(data)))
    out.write(cid)
    out.write(data)


class _Cbor:
    """Just enough dag-cbor to read a CAR v1 header."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def _byte(self) -> int:
        if self.pos >= len(self.buf):
            raise ContentError("CAR header: truncated CBOR")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def _arg(self, info: int) -> int:
        if info < 24:
            return info
        size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
        if size is None or self.pos + size > len(self.buf):
            raise ContentError("CAR header: unsupported or truncated CBOR")
        value = int.from_bytes(self.buf[self.pos : self.pos + size], "big")
        self.pos += size
        return value

    def item(self) -> object:
        first = self._byte()
        major, info = first >> 5, first & 31
        if major == 7:
            simple = {20: False, 21: True, 22: None}
            if info not in simple:
                raise ContentError("CAR header: unsupported CBOR simple value")
            return simple[info]
        n = self._arg(info)
        if major == 0:
            return n
        if major in (2, 3):
            raw = self.buf[self.pos : self.pos + n]
            if len(raw) != n:
                raise ContentError("CAR header: truncated CBOR string")
            self.pos += n
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ContentError("CAR header: a CBOR text string is not UTF-8") from None
        if major == 4:
            return [self.item() for _ in range(n)]
        if major == 5:
            out: dict[object, object] = {}
            for _ in range(n):
                key = self.item()
                out[key] = self.item()
            return out
        if major == 6 and n == 42:
            tagged = self.item()
            if not isinstance(tagged, bytes) or not tagged.startswith(b"\x00"):
                raise ContentError("CAR header: malformed CID (tag 42)")
            return ("cid", tagged[1:])
        raise ContentError(f"CAR header: unsupported CBOR major type {major}")


def _read_uvarint(stream: BinaryIO) -> int | None:
    result = shift = 0
    while True:
        b = stream.read(1)
        if not b:
            if shift == 0:
                return None
            raise ContentError("CAR: truncated varint")
        result |= (b[0] & 0x7F) << shift
        if b[0] < 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ContentError("CAR: varint too long")


def _cid_length(section: bytes) -> int:
    """Length of the binary CID at the start of a block section."""
    if section[:2] == b"\x12\x20":
        return 34  # CIDv0: a bare sha2-256 multihash
    pos = 0
    for _ in range(3):  # version, codec, multihash code
        while pos < len(section) and section[pos] & 0x80:
            pos += 1
        pos += 1
    if pos >= len(section):
        raise ContentError("CAR: truncated CID")
    length = 0
    shift = 0
    while True:  # digest length varint
        b = section[pos]
        pos += 1
        length |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
    return pos + length


def read_car(stream: BinaryIO) -> tuple[list[bytes], Iterator[tuple[bytes, bytes]]]:
    """Read a CAR v1 header and return ``(roots, blocks)``; ``blocks`` yields ``(cid, data)``.

    Blocks are not verified here (see :func:`xcr_py.content.blocks.verify_block`).

    Raises:
        ContentError: not a CAR v1 stream, or a truncated or oversized section.
    """
    length = _read_uvarint(stream)
    if length is None or length > _MAX_HEADER:
        raise ContentError("CAR: missing or oversized header")
    raw = stream.read(length)
    if len(raw) != length:
        raise ContentError("CAR: truncated header")
    header = _Cbor(raw).item()
    if not isinstance(header, dict) or header.get("version") != 1:
        raise ContentError("CAR: only version 1 is supported")
    roots_raw = header.get("roots")
    if not isinstance(roots_raw, list) or not all(
        isinstance(r, tuple) and r[0] == "cid" for r in roots_raw
    ):
        raise ContentError("CAR: header roots must be a list of CIDs")
    roots = [r[1] for r in roots_raw]
    return roots, read_car_body(stream)


def read_car_body(stream: BinaryIO) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(cid, data)`` of the block sections that follow a CAR v1 header (or that make
    up a LocalStore pack file, which is such a body without a header). Not verified.

    Raises:
        ContentError: a truncated or oversized section.
    """
    while True:
        size = _read_uvarint(stream)
        if size is None:
            return
        if size > _MAX_SECTION:
            raise ContentError(f"CAR: block section of {size} bytes exceeds {_MAX_SECTION}")
        section = stream.read(size)
        if len(section) != size:
            raise ContentError("CAR: truncated block section")
        cut = _cid_length(section)
        yield section[:cut], section[cut:]
