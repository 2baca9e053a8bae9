"""CIDs identical to ``ipfs add``, computed locally without storing anything.

``cid_version=1`` (the default) matches ``ipfs add --cid-version=1 --raw-leaves=true`` and is
printed in base32 (``bafy…``/``bafk…``); ``cid_version=0`` matches ``ipfs add --cid-version=0``
(dag-pb leaves, base58btc ``Qm…``). Both use 256 KiB chunks and the balanced 174-link layout of
:mod:`xcr_py.content.unixfs`. Files are streamed: memory stays at about one chunk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from multiformats import CID

from xcr_py.content.unixfs import CHUNK_SIZE, BlockSink, FileDagBuilder
from xcr_py.errors import InputError

__all__ = [
    "Cid",
    "bytes_cid",
    "cid_from_binary",
    "file_cid",
    "iter_chunks",
    "parse_cid",
    "raw_cid",
    "stream_cid",
]

Cid = CID
"""XCR's CID type is PyPI ``multiformats.CID`` (``str(cid)`` gives the text form)."""


def cid_from_binary(cid: bytes) -> CID:
    """Turn a binary CID into a :class:`Cid` in its usual text base (v1 base32, v0 base58btc)."""
    decoded = CID.decode(cid)
    return decoded.set(base="base32") if decoded.version == 1 else decoded


def parse_cid(text: str, *, field: str = "cid") -> CID:
    """Parse a CID string; v1 CIDs are re-based to base32 so equal CIDs print the same.

    Raises:
        InputError: ``text`` is not a CID.
    """
    try:
        cid = CID.decode(text.strip())
    except Exception as exc:  # multiformats raises several unrelated types
        raise InputError(field, f"is not a valid CID: {text!r} ({exc})") from exc
    return cid.set(base="base32") if cid.version == 1 else cid


def raw_cid(data: bytes) -> CID:
    """CIDv1 ``raw`` codec, sha2-256, base32, of one block of bytes."""
    return cid_from_binary(b"\x01\x55\x12\x20" + hashlib.sha256(data).digest())


def iter_chunks(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[memoryview]:
    """Yield full ``chunk_size`` chunks of ``stream`` (the last may be short; none if empty).

    Short reads (pipes, sockets) are topped up so chunk boundaries match ``ipfs add``. The
    yielded view is reused: copy it if you keep it past the next iteration.
    """
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    while True:
        filled = 0
        while filled < chunk_size:
            n = stream.readinto(view[filled:])  # type: ignore[attr-defined]
            if not n:
                break
            filled += n
        if filled:
            yield view[:filled]
        if filled < chunk_size:
            return


def stream_cid(stream: BinaryIO, *, cid_version: int = 1, sink: BlockSink | None = None) -> CID:
    """CID of everything ``stream`` yields; ``sink`` (optional) receives each block."""
    builder = FileDagBuilder(cid_version=cid_version, sink=sink)
    for chunk in iter_chunks(stream):
        builder.add_chunk(chunk)
    return cid_from_binary(builder.finish().cid)


def bytes_cid(data: bytes, *, cid_version: int = 1) -> CID:
    """The ``ipfs add`` CID of ``data`` (a raw CID when ``data`` fits one chunk and v1)."""
    builder = FileDagBuilder(cid_version=cid_version)
    view = memoryview(data)
    for start in range(0, len(data), CHUNK_SIZE):
        builder.add_chunk(view[start : start + CHUNK_SIZE])
    return cid_from_binary(builder.finish().cid)


def file_cid(path: str | Path, *, cid_version: int = 1) -> CID:
    """The ``ipfs add --only-hash`` CID of the file at ``path``, streamed.

    Raises:
        InputError: ``path`` is not a readable regular file.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("path", f"must be a readable regular file, got {str(p)!r}")
    with p.open("rb", buffering=0) as stream:
        return stream_cid(stream, cid_version=cid_version)
