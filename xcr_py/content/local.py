"""LocalStore: the embedded block store, a folder of content-addressed blocks and a pin set.

Layout under ``root``::

    blocks/<xx>/<key>   one file per block; <key> is base32 of the binary CID
                        (its ``b…`` text for CIDv1), <xx> its next-to-last two characters
                        (the sharding go-ipfs' flatfs uses)
    pins/<key>          one empty file per recursively pinned root
    tmp/                partial writes; a crash leaves only files here, never a partial block

Every write goes to ``tmp/``, is fsynced, then renamed into place (atomic on POSIX), so a
reader sees either no block or the whole block. Every read re-hashes the block and raises
:class:`~xcr_py.errors.BlockCorrupted` instead of returning bytes that do not match.
Several processes may share a store: blocks are immutable and pins are separate files.

Group commit: inside :meth:`LocalStore.deferred_sync` a thread's writes skip their own fsync
and are made durable together when the block exits: one ``syncfs(2)`` of the store's
filesystem for a large group (Linux), else an fsync of each file and folder. A block file
left short by a power loss inside a group is rewritten by the next put of that block (its
size is checked), and a read of it fails verification rather than returning it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from multiformats import CID

from xcr_py.content.blocks import (
    CODEC_DAG_PB,
    CODEC_RAW,
    as_binary_cid,
    block_key,
    parse_binary_cid,
    verify_block,
)
from xcr_py.content.car import read_car, write_car_block, write_car_header
from xcr_py.content.cid import cid_from_binary, iter_chunks
from xcr_py.content.store import BlockStore, CidLike
from xcr_py.content.unixfs import (
    CHUNK_SIZE,
    FileDagBuilder,
    PbNode,
    decode_pbnode,
    unixfs_file_data,
)
from xcr_py.errors import BlockCorrupted, ContentError, InputError

__all__ = ["LocalStore"]

_SYNCFS_FROM = 32
"""A deferred group of at least this many files is made durable by one syncfs(2)."""


def _load_syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs(fd)`` (Linux), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None
    return fn


_syncfs = _load_syncfs()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStore(BlockStore):
    """Blocks on disk under ``root`` (created if missing), verified on every read."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._blocks = self.root / "blocks"
        self._pins = self.root / "pins"
        self._tmp = self.root / "tmp"
        for d in (self._blocks, self._pins, self._tmp):
            d.mkdir(parents=True, exist_ok=True)
        self._shards: set[Path] = set()  # shard folders known to exist
        self._group = threading.local()  # per thread: files written in a deferred group

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # --- blocks -------------------------------------------------------------------------

    def _path(self, cid: bytes) -> Path:
        key = block_key(cid)
        return self._blocks / key[-3:-1] / key

    def has_block(self, cid: CidLike | bytes) -> bool:
        """Whether the block ``cid`` is on disk (not verified; :meth:`get_block` verifies)."""
        return self._path(as_binary_cid(cid)).is_file()

    def put_block(self, cid: CidLike | bytes, data: bytes) -> None:
        """Store one block after checking it hashes to ``cid`` (a no-op if already present).

        Raises:
            BlockCorrupted: ``data`` does not match ``cid``; nothing is written.
        """
        binary = as_binary_cid(cid)
        verify_block(binary, data, where="put")
        self._write_block(self._path(binary), data)

    def get_block(self, cid: CidLike | bytes) -> bytes:
        """Read one block and verify it.

        Raises:
            ContentError: the block is not in the store.
            BlockCorrupted: the bytes on disk do not hash to ``cid``.
        """
        binary = as_binary_cid(cid)
        path = self._path(binary)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ContentError(f"block {block_key(binary)} is not in {self!r}") from None
        verify_block(binary, data, where=str(path))
        return data

    def _write_block(self, path: Path, data: bytes) -> None:
        """Write a block file unless a whole one is there (a short one is rewritten)."""
        try:
            if os.stat(path).st_size == len(data):
                return
        except FileNotFoundError:
            pass
        if path.parent not in self._shards:
            path.parent.mkdir(exist_ok=True)
            self._shards.add(path.parent)
        self._atomic_write(path, data)

    def _atomic_write(self, path: Path, data: bytes) -> None:
        group: list[Path] | None = getattr(self._group, "written", None)
        fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix=".blk-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if group is None:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if group is not None:
            group.append(path)

    @contextlib.contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Writes of this thread inside the block are made durable together on exit.

        Nested use joins the outer group. On exit (also when the block raised) everything
        written is synced before this returns.

        Raises:
            OSError: the sync failed (e.g. a write-back error); the blocks may not be durable.
        """
        if getattr(self._group, "written", None) is not None:
            yield
            return
        written: list[Path] = []
        self._group.written = written
        try:
            yield
        finally:
            self._group.written = None
            self._make_durable(written)

    def _make_durable(self, written: list[Path]) -> None:
        if not written:
            return
        if _syncfs is not None and len(written) >= _SYNCFS_FROM:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                if _syncfs(fd) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"syncfs of {self.root}: {os.strerror(err)}")
            finally:
                os.close(fd)
            return
        for path in written:
            _fsync_path(path)
        for folder in {p.parent for p in written}:  # the renames themselves
            _fsync_path(folder)

    # --- DAGs ---------------------------------------------------------------------------

    def walk(self, cid: CidLike | bytes) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(binary CID, block)`` of the whole DAG depth-first, root first, each once.

        The order is that of ``ipfs dag export``. Every block is verified.
        """
        seen: set[bytes] = set()
        stack = [as_binary_cid(cid)]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            data = self.get_block(current)
            yield current, data
            stack.extend(reversed(_links(current, data)))

    def iter_content(self, cid: CidLike) -> Iterator[bytes]:
        """Yield the file data under ``cid`` leaf by leaf, each block verified."""
        stack = [as_binary_cid(cid)]
        while stack:
            current = stack.pop()
            data = self.get_block(current)
            block_id = parse_binary_cid(current)
            if block_id.codec == CODEC_RAW:
                yield data
                continue
            node = _decode(current, data)
            try:
                payload = unixfs_file_data(node.data)
            except ValueError as exc:
                raise ContentError(f"{block_key(current)} is not a UnixFS file: {exc}") from exc
            if payload:
                yield payload
            stack.extend(link for link, _ in reversed(node.links))

    # --- pipeline API -------------------------------------------------------------------

    def put_file(self, path: str | Path, *, pin: bool = True) -> CID:
        """Store a file block by block (streamed) and return its CIDv1."""
        p = Path(path)
        if not p.is_file():
            raise InputError("path", f"must be a readable regular file, got {str(p)!r}")
        builder = FileDagBuilder(cid_version=1, sink=self._sink)
        with p.open("rb", buffering=0) as stream:
            for chunk in iter_chunks(stream):
                builder.add_chunk(chunk)
        return cid_from_binary(self._finish(builder, pin))

    def put_bytes(self, data: bytes, *, pin: bool = True) -> CID:
        """Store ``data`` as a file and return its CIDv1."""
        return cid_from_binary(self.put_bytes_binary(data, pin=pin))

    def put_bytes_binary(self, data: bytes, *, pin: bool = True) -> bytes:
        """:meth:`put_bytes` returning the binary CID (no multiformats object, ~0.5 ms less)."""
        builder = FileDagBuilder(cid_version=1, sink=self._sink)
        view = memoryview(data)
        for start in range(0, len(data), CHUNK_SIZE):
            builder.add_chunk(view[start : start + CHUNK_SIZE])
        return self._finish(builder, pin)

    def _sink(self, cid: bytes, data: bytes) -> None:
        # The builder just hashed these bytes: skip re-verification, write atomically.
        self._write_block(self._path(cid), data)

    def _finish(self, builder: FileDagBuilder, pin: bool) -> bytes:
        """The root's binary CID, pinned unless ``pin`` is false."""
        root = builder.finish().cid
        if pin:
            self._pin_binary(root)
        return root

    def has(self, cid: CidLike) -> bool:
        """Whether the root block of ``cid`` is stored."""
        return self.has_block(cid)

    def pin(self, cid: CidLike) -> None:
        """Pin ``cid`` after checking its whole DAG is present and intact.

        Raises:
            ContentError: a block is missing; BlockCorrupted: a block is damaged.
        """
        binary = as_binary_cid(cid)
        for _ in self.walk(binary):
            pass
        self._pin_binary(binary)

    def _pin_binary(self, cid: bytes) -> None:
        # A pin is an empty file: creating it is atomic by itself (no temp file, no rename);
        # what must be durable is the folder entry.
        path = self._pins / block_key(cid)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            return
        group: list[Path] | None = getattr(self._group, "written", None)
        if group is None:
            _fsync_path(self._pins)
        else:
            group.append(path)

    def unpin(self, cid: CidLike) -> None:
        """Remove a pin (blocks stay until a garbage collection, which XCR does not run)."""
        with contextlib.suppress(FileNotFoundError):
            (self._pins / block_key(as_binary_cid(cid))).unlink()

    def pins(self) -> set[CID]:
        """The pinned roots."""
        from multiformats import multibase

        return {cid_from_binary(multibase.decode(p.name)) for p in self._pins.iterdir()}

    # --- CAR ----------------------------------------------------------------------------

    def export_car(self, cid: CidLike, out: str | Path) -> Path:
        """Write the DAG under ``cid`` as a CAR v1 file that ``ipfs dag import`` loads.

        The file appears complete or not at all (temp file, fsync, rename).

        Raises:
            ContentError: ``cid`` is not pinned, or a block is missing.
            BlockCorrupted: a block is damaged (no CAR is written).
        """
        binary = as_binary_cid(cid)
        if not (self._pins / block_key(binary)).exists():
            raise ContentError(f"{cid} is not pinned in {self!r}; pin it before exporting")
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                write_car_header(f, [binary])
                for block_cid, data in self.walk(binary):
                    write_car_block(f, block_cid, data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target

    def import_car(self, car: str | Path | BinaryIO) -> list[CID]:
        """Load a CAR v1 file, verify every block, check the roots' DAGs are complete, pin them.

        Two passes: the first verifies hashes and completeness without writing anything, so a
        bad CAR changes nothing; the second writes the blocks and pins the roots.

        Raises:
            BlockCorrupted: a block does not match its CID.
            ContentError: malformed CAR, unsupported codec, or a DAG with missing blocks.
        """
        if not isinstance(car, str | Path):
            raise InputError("car", "must be a path (the CAR is read twice)")
        path = Path(car)
        if not path.is_file():
            raise InputError("car", f"must be a readable CAR file, got {str(path)!r}")
        with path.open("rb") as f:
            roots, blocks = read_car(f)
            present: set[bytes] = set()
            links: dict[bytes, list[bytes]] = {}
            for cid, data in blocks:
                verify_block(cid, data, where=f"{path.name}")
                present.add(cid)
                links[cid] = _links(cid, data)
        for root in roots:
            stack = [root]
            seen: set[bytes] = set()
            while stack:
                current = stack.pop()
                if current in seen:
                    continue
                seen.add(current)
                if current in present:
                    stack.extend(links[current])
                elif self.has_block(current):
                    stack.extend(_links(current, self.get_block(current)))
                else:
                    raise ContentError(
                        f"CAR {path.name}: DAG of root {block_key(root)} misses block "
                        f"{block_key(current)}; nothing imported"
                    )
        with path.open("rb") as f:
            _, blocks = read_car(f)
            for cid, data in blocks:
                self.put_block(cid, data)
        for root in roots:
            self._pin_binary(root)
        return [cid_from_binary(r) for r in roots]


def _decode(cid: bytes, data: bytes) -> PbNode:
    try:
        return decode_pbnode(data)
    except ValueError as exc:
        raise BlockCorrupted(f"block {block_key(cid)} is not valid dag-pb: {exc}") from exc


def _links(cid: bytes, data: bytes) -> list[bytes]:
    codec = parse_binary_cid(cid).codec
    if codec == CODEC_RAW:
        return []
    if codec == CODEC_DAG_PB:
        return [link for link, _ in _decode(cid, data).links]
    raise ContentError(f"block {block_key(cid)}: codec 0x{codec:x} is not raw or dag-pb")
