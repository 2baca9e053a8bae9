"""LocalStore group commit: one pack per group, durable before the index names it."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from xcr_py.content import local, packs
from xcr_py.content.blocks import block_key
from xcr_py.content.cid import bytes_cid
from xcr_py.content.local import LocalStore
from xcr_py.content.packs import BlockLocation, iter_pack
from xcr_py.errors import ContentError


class _Fsyncs:
    """Counts fsync(2) calls made by the store modules."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            self.count += 1
            real_fsync(fd)

        monkeypatch.setattr(local.os, "fsync", fsync)
        monkeypatch.setattr(packs.os, "fsync", fsync)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def _files(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).rglob("*") if p.is_file())


def test_outside_a_group_every_write_is_a_fsynced_loose_file(
        store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs = _Fsyncs(monkeypatch)
    cid = store.put_bytes(b"one block")
    assert fsyncs.count == 2  # the block and its pin's folder
    assert isinstance(store.locate(cid), Path) and _files(store.root, "packs") == []
    assert cid in store.pins() and store.is_pinned(cid)


def test_a_group_is_one_pack_file_and_one_index_commit(
        store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs = _Fsyncs(monkeypatch)
    datas = [f"asset {i}".encode() * 50 for i in range(20)] + [os.urandom(300 * 1024)]
    with store.deferred_sync():
        cids = [store.put_bytes_binary(d) for d in datas]
        with store.deferred_sync():  # nested: joins the outer group
            store.put_bytes(b"nested")
        assert fsyncs.count == 0
        assert all(store.get(bytes_cid(d)) == d for d in datas)  # this thread sees them
    assert fsyncs.count == 2  # the pack and the packs/ folder (SQLite syncs its own journal)
    assert _files(store.root, "blocks") == [] and _files(store.root, "pins") == []
    [pack] = _files(store.root, "packs")
    assert cids == [bytes(bytes_cid(d)) for d in datas]
    for cid, data in zip(cids, datas, strict=True):
        where = store.locate(cid)
        assert isinstance(where, BlockLocation) and where.path == pack
        assert store.get(cid) == data and store.is_pinned(cid)
    # The pack is a CAR v1 body: every record is a block that hashes to its CID.
    records = list(iter_pack(pack))
    assert {c for c, _ in records} >= set(cids) and len(records) == len({c for c, _ in records})
    for cid, block in records:
        assert store.get_block(cid) == block
    assert {str(bytes_cid(d)) for d in datas} <= {str(c) for c in store.pins()}


def test_other_threads_see_a_group_only_after_it_commits(store: LocalStore) -> None:
    data = b"written in a group"
    cid = bytes_cid(data)
    seen: list[bool] = []
    entered, checked = threading.Event(), threading.Event()

    def writer() -> None:
        with store.deferred_sync():
            store.put_bytes(data)
            entered.set()
            checked.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    entered.wait(10)
    seen.append(store.has(cid))
    checked.set()
    thread.join(10)
    seen.append(store.has(cid))
    assert seen == [False, True] and store.get(cid) == data
    assert LocalStore(store.root).get(cid) == data  # another instance (process) reads it too


def test_the_group_is_committed_even_when_the_block_raises(store: LocalStore) -> None:
    with pytest.raises(RuntimeError), store.deferred_sync():
        cid = store.put_bytes(b"written before the error")
        raise RuntimeError("render pipeline failed")
    assert store.get(cid) == b"written before the error" and cid in store.pins()


def test_a_failed_pack_sync_records_nothing(store: LocalStore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(packs.os, "fsync", broken)
    with pytest.raises(OSError, match="Input/output"), store.deferred_sync():
        cid = store.put_bytes(b"never made durable")
    assert not store.has(cid) and store.pins() == set()
    with pytest.raises(ContentError, match="is not in"):
        store.get(cid)


def test_a_crash_before_the_commit_leaves_nothing_named(store: LocalStore) -> None:
    # What a crash between writing the pack and committing the index leaves: a pack that
    # nothing names. A later put of the same block stores it again.
    data = os.urandom(1000)
    group = packs.PackGroup(store.root / "packs")
    group.append(bytes(bytes_cid(data)), data)
    group.seal()
    assert not store.has(bytes_cid(data))
    with store.deferred_sync():
        cid = store.put_bytes(data)
    assert store.get(cid) == data and len(_files(store.root, "packs")) == 2


def test_a_block_is_packed_once_per_group_and_never_copied_loose(store: LocalStore) -> None:
    data = os.urandom(2000)
    with store.deferred_sync():
        store.put_bytes(data)
        store.put_bytes(data)  # the same group: one record
    store.put_bytes(data)  # outside a group: the index has it, no loose copy
    [pack] = _files(store.root, "packs")
    assert len(list(iter_pack(pack))) == 1 and _files(store.root, "blocks") == []
    with store.deferred_sync():
        store.put_bytes(data)  # a later group may store it again; the first copy stays named
    where = store.locate(bytes_cid(data))
    assert isinstance(where, BlockLocation) and where.path == pack
    assert store.get(bytes_cid(data)) == data


def test_a_damaged_packed_block_is_refused(store: LocalStore) -> None:
    with store.deferred_sync():
        cid = store.put_bytes(b"x" * 5000)
    where = store.locate(cid)
    assert isinstance(where, BlockLocation)
    raw = bytearray(where.path.read_bytes())
    raw[where.offset + 10] ^= 0xFF
    where.path.write_bytes(bytes(raw))
    with pytest.raises(local.BlockCorrupted, match=block_key(bytes(cid))):
        store.get(cid)


def test_unpin_removes_a_group_pin(store: LocalStore) -> None:
    with store.deferred_sync():
        cid = store.put_bytes(b"pinned in a group")
    store.unpin(cid)
    assert cid not in store.pins() and store.has(cid)
    with sqlite3.connect(store.root / "index.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM pins").fetchone() == (0,)


def test_a_short_block_file_is_rewritten_by_the_next_put(store: LocalStore) -> None:
    data = os.urandom(4096)
    cid = bytes_cid(data)
    store.put_bytes(data)
    key = block_key(bytes(cid))
    path = store.root / "blocks" / key[-3:-1] / key
    path.write_bytes(data[:100])  # a loose block left short
    store.put_bytes(data)
    assert path.read_bytes() == data and store.get(cid) == data


def test_put_bytes_binary_is_the_binary_of_put_bytes(store: LocalStore) -> None:
    for data in (b"", b"x", os.urandom(256 * 1024 + 1)):
        assert store.put_bytes_binary(data) == bytes(store.put_bytes(data))


def test_cid_text_is_the_usual_text_of_v1_and_v0_cids(store: LocalStore) -> None:
    from xcr_py.content.blocks import cid_text
    from xcr_py.content.cid import cid_from_binary, parse_cid

    v1 = store.put_bytes_binary(os.urandom(300 * 1024))  # dag-pb root
    raw = store.put_bytes_binary(b"one raw block")
    v0 = bytes(parse_cid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"))
    for binary in (v1, raw, v0):
        assert cid_text(binary) == str(cid_from_binary(binary))
    assert cid_text(v0).startswith("Qm") and cid_text(raw).startswith("bafkrei")


def test_reading_a_store_writes_nothing(store: LocalStore, tmp_path: Path) -> None:
    """Readers (verify, serve) leave every file of the store byte-identical."""
    import hashlib

    with store.deferred_sync():
        packed = store.put_bytes(os.urandom(3000))
    loose = store.put_bytes(b"loose")
    store.close()

    def digests() -> dict[str, str]:
        return {str(p.relative_to(store.root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(store.root.rglob("*")) if p.is_file()}

    before = digests()
    reader = LocalStore(store.root)
    assert reader.get(packed) and reader.get(loose) and reader.has(packed)
    assert {packed, loose} <= reader.pins() and reader.is_pinned(packed)
    assert isinstance(reader.locate(packed), BlockLocation)
    reader.close()
    assert digests() == before


def test_a_store_without_an_index_is_read_without_creating_one(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "old")
    cid = store.put_bytes(b"from before packs")
    assert not (store.root / "index.sqlite").exists()
    assert store.get(cid) == b"from before packs" and not store.has(bytes_cid(b"other"))
    assert store.pins() == {cid} and not (store.root / "index.sqlite").exists()


def test_a_write_that_fails_part_way_is_overwritten_by_the_next_block(
        store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk mid-record: the next block lands where the partial one began."""
    real_pwritev, calls = os.pwritev, []

    def short_then_full(fd: int, buffers: list[bytes], offset: int) -> int:
        calls.append(offset)
        if len(calls) == 2:  # the second block: half of it, then the disk is full
            os.pwrite(fd, b"".join(buffers)[:500], offset)
            raise OSError(28, "No space left on device")
        return real_pwritev(fd, buffers, offset)

    monkeypatch.setattr(packs.os, "pwritev", short_then_full)
    first, lost, third = os.urandom(1000), os.urandom(1000), os.urandom(1000)
    with store.deferred_sync():
        store.put_bytes(first)
        with pytest.raises(OSError, match="No space"):
            store.put_bytes(lost)
        store.put_bytes(third)
    assert calls[2] == calls[1]  # the third block starts where the failed one did
    assert store.get(bytes_cid(first)) == first and store.get(bytes_cid(third)) == third
    assert not store.has(bytes_cid(lost))
