"""A small dag-pb / UnixFS encoder and the balanced file-DAG builder Kubo uses for ``ipfs add``.

Only what ``ipfs add`` of a single file produces is encoded; the wire format, field by field:

dag-pb ``PBNode`` (links are written *before* data, as go-codec-dagpb and @ipld/dag-pb do)::

    field 2  Links  repeated PBLink, length-delimited      tag 0x12
    field 1  Data   bytes (a UnixFS ``Data`` message)      tag 0x0a

dag-pb ``PBLink``::

    field 1  Hash   bytes: the binary CID of the child     tag 0x0a
    field 2  Name   string: always present and empty ""   tag 0x12, length 0
    field 3  Tsize  varint: the child's cumulative size    tag 0x18

UnixFS ``Data`` (proto2; field order by number; ``blocksizes`` not packed)::

    field 1  Type        varint, 2 = File                  tag 0x08
    field 2  Data        bytes, only in dag-pb leaves (v0)  tag 0x12, omitted when empty
    field 3  filesize    varint, bytes of file data below  tag 0x18
    field 4  blocksizes  varint per child, in order        tag 0x20

Layout (Kubo's ``balanced`` layout, ``size-262144`` chunker): the file is cut into 256 KiB
chunks (an empty file is one empty chunk). With ``raw_leaves`` each chunk is a ``raw`` block
(CIDv1); otherwise a dag-pb node holding UnixFS ``File`` data (CIDv0). Every 174 leaves are
linked by a parent node, every 174 parents by a grandparent, and so on until one node is left.
A file that is a single chunk is that leaf. A partial group at the right edge still gets its
own parent, even with one child (Kubo and js-ipfs both do this).

``Tsize`` of a link is the child's block size plus the ``Tsize`` of all its links.

The builder streams: it holds at most 173 pending links per tree level (a few KiB each level)
and never the file data beyond the chunk being hashed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from xcr_py.errors import InputError

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "RAW_V1_PREFIX",
    "BlockSink",
    "FileDagBuilder",
    "Link",
    "PbNode",
    "decode_pbnode",
    "encode_pbnode",
    "encode_unixfs_file",
    "unixfs_file_data",
    "varint",
]

CHUNK_SIZE = 256 * 1024
"""Kubo's default fixed chunk size (``size-262144``), in bytes."""

MAX_LINKS = 174
"""Kubo's default maximum links per node in the balanced layout."""

# Binary CID prefixes: <version><codec><multihash code sha2-256><digest length 32>.
RAW_V1_PREFIX = b"\x01\x55\x12\x20"
"""A raw-leaf CIDv1's first four bytes; the 32-byte sha2-256 digest follows."""
_V1_DAG_PB = b"\x01\x70\x12\x20"
_V0 = b"\x12\x20"  # CIDv0 is the bare sha2-256 multihash of a dag-pb block

_UNIXFS_FILE = 2

BlockSink = Callable[[bytes, bytes], None]
"""Called with ``(binary CID, block bytes)`` for every block the builder makes, leaves first."""


@lru_cache(maxsize=4096)  # the same few sizes (chunk size, Tsizes) recur on every node
def varint(n: int) -> bytes:
    """Unsigned LEB128 (protobuf varint) encoding of ``n >= 0``."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class Link:
    """A child of a file node: its binary CID, cumulative DAG size and file-data size (bytes)."""

    cid: bytes
    tsize: int
    filesize: int


def encode_unixfs_file(
    *, data: bytes | None, filesize: int, blocksizes: Iterable[int] = ()
) -> bytes:
    """Encode a UnixFS ``Data`` message of type File (see the module docstring for field order)."""
    parts = [b"\x08", varint(_UNIXFS_FILE)]
    if data:
        parts += [b"\x12", varint(len(data)), data]
    parts += [b"\x18", varint(filesize)]
    for size in blocksizes:
        parts += [b"\x20", varint(size)]
    return b"".join(parts)


def encode_pbnode(links: Iterable[Link], data: bytes) -> bytes:
    """Encode a dag-pb node: links first (Hash, empty Name, Tsize), then Data."""
    parts: list[bytes] = []
    for link in links:
        body = b"".join(
            (b"\x0a", varint(len(link.cid)), link.cid, b"\x12\x00\x18", varint(link.tsize))
        )
        parts += [b"\x12", varint(len(body)), body]
    parts += [b"\x0a", varint(len(data)), data]
    return b"".join(parts)


class FileDagBuilder:
    """Build the UnixFS file DAG of a byte stream chunk by chunk, as ``ipfs add`` does.

    Feed 256 KiB chunks in order with :meth:`add_chunk` (the last may be shorter), then call
    :meth:`finish` for the root :class:`Link`. ``cid_version=1`` means raw leaves and CIDv1
    (``--cid-version=1 --raw-leaves=true``); ``cid_version=0`` means dag-pb leaves and CIDv0.
    ``sink``, if given, receives every block (for a block store); without it only hashes are
    computed (``--only-hash``).
    """

    def __init__(self, *, cid_version: int = 1, sink: BlockSink | None = None) -> None:
        if cid_version not in (0, 1):
            raise InputError("cid_version", f"must be 0 or 1, got {cid_version!r}")
        self._v1 = cid_version == 1
        self._sink = sink
        self._levels: list[list[Link]] = [[]]  # pending links per level, leaves at level 0
        self._finished = False

    def add_chunk(self, chunk: bytes | memoryview) -> None:
        """Add the next chunk of file data (at most :data:`CHUNK_SIZE` bytes)."""
        if self._finished:
            raise RuntimeError("add_chunk after finish")
        size = len(chunk)
        if size > CHUNK_SIZE:
            raise InputError("chunk", f"must be at most {CHUNK_SIZE} bytes, got {size}")
        if self._v1:
            cid = RAW_V1_PREFIX + hashlib.sha256(chunk).digest()
            if self._sink is not None:
                self._sink(cid, bytes(chunk))
            leaf = Link(cid, size, size)
        else:
            block = encode_pbnode((), encode_unixfs_file(data=bytes(chunk), filesize=size))
            cid = _V0 + hashlib.sha256(block).digest()
            if self._sink is not None:
                self._sink(cid, block)
            leaf = Link(cid, len(block), size)
        self._push(0, leaf)

    def finish(self) -> Link:
        """Close the DAG and return the root link (its ``cid`` is the file's binary CID)."""
        if self._finished:
            raise RuntimeError("finish called twice")
        self._finished = True
        if not self._levels[0] and len(self._levels) == 1:
            # An empty file is one empty leaf, not a node without links.
            self._finished = False
            self.add_chunk(b"")
            self._finished = True
        level = 0
        while True:
            pending = self._levels[level]
            above = any(self._levels[level + 1 :])
            if not above and len(pending) == 1:
                return pending[0]
            if pending:
                self._levels[level] = []
                self._push(level + 1, self._node(pending))
            level += 1

    def _push(self, level: int, link: Link) -> None:
        if level == len(self._levels):
            self._levels.append([])
        pending = self._levels[level]
        pending.append(link)
        if len(pending) == MAX_LINKS:
            self._levels[level] = []
            self._push(level + 1, self._node(pending))

    def _node(self, links: list[Link]) -> Link:
        filesize = sum(link.filesize for link in links)
        data = encode_unixfs_file(
            data=None, filesize=filesize, blocksizes=[lk.filesize for lk in links]
        )
        block = encode_pbnode(links, data)
        cid = (_V1_DAG_PB if self._v1 else _V0) + hashlib.sha256(block).digest()
        if self._sink is not None:
            self._sink(cid, block)
        return Link(cid, len(block) + sum(link.tsize for link in links), filesize)


# --- decoding (for reading files back out of a block store and walking DAGs) -----------------


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 64 bits")


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield ``(field number, value)`` of a protobuf message (varint and length-delimited only)."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            yield number, value
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated length-delimited field")
            yield number, buf[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


@dataclass(frozen=True, slots=True)
class PbNode:
    """A decoded dag-pb node: child links (binary CID, Tsize) in order and the Data bytes."""

    links: tuple[tuple[bytes, int], ...]
    data: bytes


def decode_pbnode(block: bytes) -> PbNode:
    """Decode a dag-pb block (raises ``ValueError`` when it is not one)."""
    links: list[tuple[bytes, int]] = []
    data = b""
    for number, value in _fields(block):
        if number == 2 and isinstance(value, bytes):
            cid, tsize = b"", 0
            for lnum, lval in _fields(value):
                if lnum == 1 and isinstance(lval, bytes):
                    cid = lval
                elif lnum == 3 and isinstance(lval, int):
                    tsize = lval
            if not cid:
                raise ValueError("dag-pb link without Hash")
            links.append((cid, tsize))
        elif number == 1 and isinstance(value, bytes):
            data = value
        else:
            raise ValueError(f"unexpected dag-pb field {number}")
    return PbNode(tuple(links), data)


def unixfs_file_data(data: bytes) -> bytes:
    """The file bytes carried by a UnixFS ``Data`` message (empty for internal nodes).

    Raises:
        ValueError: not a UnixFS File (or Raw) node.
    """
    kind: int | None = None
    payload = b""
    for number, value in _fields(data):
        if number == 1 and isinstance(value, int):
            kind = value
        elif number == 2 and isinstance(value, bytes):
            payload = value
    if kind not in (0, _UNIXFS_FILE):  # 0 = Raw, 2 = File
        raise ValueError(f"UnixFS node type {kind} is not a file")
    return payload
