"""LocalStore group commit: deferred fsyncs, one durability point on exit, short blocks mended."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xcr_py.content import local
from xcr_py.content.blocks import block_key
from xcr_py.content.cid import bytes_cid
from xcr_py.content.local import LocalStore


class _Syncs:
    """Counts fsync(2) and syncfs(2) calls made by the store module."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fsyncs = 0
        self.syncfs: list[int] = []
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            self.fsyncs += 1
            real_fsync(fd)

        def syncfs(fd: int) -> int:
            self.syncfs.append(fd)
            return 0

        monkeypatch.setattr(local.os, "fsync", fsync)
        monkeypatch.setattr(local, "_syncfs", syncfs)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def test_outside_a_group_every_write_is_fsynced(store: LocalStore,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    syncs = _Syncs(monkeypatch)
    store.put_bytes(b"one block")
    assert syncs.fsyncs == 2 and syncs.syncfs == []  # the block and its pin


def test_a_large_group_is_made_durable_by_one_syncfs_on_exit(
        store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs = _Syncs(monkeypatch)
    with store.deferred_sync():
        cids = [store.put_bytes_binary(f"asset {i}".encode()) for i in range(20)]
        with store.deferred_sync():  # nested: joins the outer group
            store.put_bytes(b"nested")
        assert syncs.fsyncs == 0 and syncs.syncfs == []
        assert all(store.get(bytes_cid(f"asset {i}".encode())) == f"asset {i}".encode()
                   for i in range(20))  # visible before the sync
    assert syncs.fsyncs == 0 and len(syncs.syncfs) == 1  # 42 files >= the threshold
    assert cids == [bytes(bytes_cid(f"asset {i}".encode())) for i in range(20)]


def test_a_small_group_fsyncs_its_files_and_folders_on_exit(
        store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs = _Syncs(monkeypatch)
    with store.deferred_sync():
        store.put_bytes(b"alone")
        assert syncs.fsyncs == 0
    # block + pin files, then their two folders (the shard and pins/)
    assert syncs.fsyncs == 4 and syncs.syncfs == []


def test_the_group_is_synced_even_when_the_block_raises(
        store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs = _Syncs(monkeypatch)
    with pytest.raises(RuntimeError), store.deferred_sync():
        store.put_bytes(b"written before the error")
        raise RuntimeError("render pipeline failed")
    assert syncs.fsyncs == 4


def test_a_failed_syncfs_is_an_oserror_naming_the_store(
        store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "_syncfs", lambda fd: -1)
    with pytest.raises(OSError, match=r"syncfs of .*store"), store.deferred_sync():
        for i in range(20):
            store.put_bytes(f"x{i}".encode())


def test_a_short_block_file_is_rewritten_by_the_next_put(store: LocalStore) -> None:
    data = os.urandom(4096)
    cid = bytes_cid(data)
    store.put_bytes(data)
    key = block_key(bytes(cid))
    path = store.root / "blocks" / key[-3:-1] / key
    path.write_bytes(data[:100])  # what a power loss inside a group could leave
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
