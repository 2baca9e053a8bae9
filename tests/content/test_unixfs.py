"""The dag-pb/UnixFS encoder and the balanced layout, checked structurally (no daemon)."""

from __future__ import annotations

import io

import pytest

from xcr_py.content import bytes_cid, file_cid, raw_cid
from xcr_py.content.cid import iter_chunks, stream_cid
from xcr_py.content.unixfs import (
    CHUNK_SIZE,
    MAX_LINKS,
    FileDagBuilder,
    decode_pbnode,
    unixfs_file_data,
    varint,
)
from xcr_py.errors import InputError


def _build(n_leaves: int, last: int = 1, version: int = 1) -> tuple[bytes, dict[bytes, bytes]]:
    blocks: dict[bytes, bytes] = {}
    builder = FileDagBuilder(cid_version=version, sink=lambda c, d: blocks.__setitem__(c, d))
    for i in range(n_leaves):
        builder.add_chunk(bytes([i % 251]) * (CHUNK_SIZE if i < n_leaves - 1 else last))
    return builder.finish().cid, blocks


def _depth(cid: bytes, blocks: dict[bytes, bytes]) -> int:
    if cid[1] == 0x55:
        return 0
    return 1 + _depth(decode_pbnode(blocks[cid]).links[0][0], blocks)


@pytest.mark.parametrize(
    ("n", "out"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (262144, b"\x80\x80\x10"),
    ],
)
def test_varint(n: int, out: bytes) -> None:
    assert varint(n) == out


def test_known_cids_of_kubo() -> None:
    # Published Kubo results: the empty file, v1 raw-leaves and v0.
    assert str(bytes_cid(b"")) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert str(bytes_cid(b"", cid_version=0)) == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


def test_single_chunk_is_a_raw_leaf() -> None:
    data = b"x" * CHUNK_SIZE
    assert bytes_cid(data) == raw_cid(data)
    assert bytes_cid(data + b"y") != raw_cid(data + b"y")


def test_two_chunks_root_fields() -> None:
    root, blocks = _build(2, last=1)
    node = decode_pbnode(blocks[root])
    assert [t for _, t in node.links] == [CHUNK_SIZE, 1]
    # Type=File, filesize, then one blocksizes entry per child, in that order.
    assert (
        node.data
        == b"\x08\x02\x18" + varint(CHUNK_SIZE + 1) + b"\x20" + varint(CHUNK_SIZE) + b"\x20\x01"
    )
    # Links are written before Data, each with an empty Name.
    assert blocks[root][0] == 0x12 and b"\x12\x00\x18" in blocks[root]


def test_full_level_then_one_more_leaf_gets_its_own_parent() -> None:
    root, blocks = _build(MAX_LINKS + 1)
    top = decode_pbnode(blocks[root])
    assert len(top.links) == 2
    first, second = (decode_pbnode(blocks[c]) for c, _ in top.links)
    assert len(first.links) == MAX_LINKS
    assert len(second.links) == 1  # not collapsed into the leaf: Kubo keeps the level
    assert _depth(root, blocks) == 2


def test_exactly_full_level_is_one_node() -> None:
    root, blocks = _build(MAX_LINKS, last=CHUNK_SIZE)
    assert len(decode_pbnode(blocks[root]).links) == MAX_LINKS
    assert _depth(root, blocks) == 1


def test_tsize_is_cumulative() -> None:
    root, blocks = _build(MAX_LINKS + 2)
    top = decode_pbnode(blocks[root])
    for child, tsize in top.links:
        node = decode_pbnode(blocks[child])
        assert tsize == len(blocks[child]) + sum(t for _, t in node.links)


def test_v0_leaves_are_dag_pb_with_data() -> None:
    root, blocks = _build(1, last=5, version=0)
    assert len(root) == 34 and root[:2] == b"\x12\x20"
    assert unixfs_file_data(decode_pbnode(blocks[root]).data) == bytes([0]) * 5


def test_pending_links_stay_bounded() -> None:
    builder = FileDagBuilder()
    for _ in range(MAX_LINKS * 3 + 5):
        builder.add_chunk(b"z")
        assert all(len(level) < MAX_LINKS for level in builder._levels)
    builder.finish()
    with pytest.raises(RuntimeError):
        builder.add_chunk(b"late")


class _Trickle(io.RawIOBase):
    """A stream that returns at most 1000 bytes per read, like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._buf.read(min(len(b), 1000))
        b[: len(chunk)] = chunk
        return len(chunk)


def test_short_reads_do_not_move_chunk_boundaries() -> None:
    data = bytes(range(256)) * 2100  # two full chunks and a short one
    sizes = [len(c) for c in iter_chunks(_Trickle(data))]
    assert sizes == [CHUNK_SIZE, CHUNK_SIZE, len(data) - 2 * CHUNK_SIZE]
    assert stream_cid(_Trickle(data)) == bytes_cid(data)


def test_file_cid_matches_bytes_cid(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 3000
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert file_cid(path) == bytes_cid(data)
    assert file_cid(path, cid_version=0) == bytes_cid(data, cid_version=0)
    assert str(file_cid(path, cid_version=0)).startswith("Qm")


def test_public_surface() -> None:
    import xcr_py.content as content

    for name in content.__all__:
        assert getattr(content, name) is not None
    assert content.KuboStore.__name__ == "KuboStore"


def test_builder_rejects_bad_arguments() -> None:
    with pytest.raises(InputError, match="cid_version"):
        FileDagBuilder(cid_version=2)
    with pytest.raises(InputError, match="chunk"):
        FileDagBuilder().add_chunk(b"x" * (CHUNK_SIZE + 1))
