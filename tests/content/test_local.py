"""LocalStore: round trips, pins, atomicity, corruption detection and CAR v1 export/import."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from multiformats import multibase

from xcr_py.content import file_cid, json_cid
from xcr_py.content.blocks import block_key
from xcr_py.content.car import read_car, write_car_block, write_car_header
from xcr_py.content.local import LocalStore
from xcr_py.errors import BlockCorrupted, ContentError, InputError


def _block_files(store: LocalStore) -> list[Path]:
    return sorted(p for p in (store.root / "blocks").rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.mark.parametrize("name", ["empty", "one_byte", "chunk_plus_one", "one_mib"])
def test_put_file_get_round_trip(
    store: LocalStore, sample_files: dict[str, Path], name: str
) -> None:
    path = sample_files[name]
    cid = store.put_file(path)
    assert cid == file_cid(path)
    assert store.get(cid) == path.read_bytes()
    assert store.has(cid) and cid in store.pins()


def test_put_json_and_bytes(store: LocalStore) -> None:
    doc = {"schema": "xcr/receipt/1", "asset": {"bytes": 12}}
    cid = store.put_json(doc)
    assert cid == json_cid(doc)
    assert store.get_json(cid) == doc
    unpinned = store.put_bytes(b"scratch", pin=False)
    assert store.has(unpinned) and unpinned not in store.pins()
    store.pin(unpinned)
    assert unpinned in store.pins()


def test_bad_json_stores_nothing(store: LocalStore) -> None:
    with pytest.raises(InputError) as err:
        store.put_json({"gross_g": float("nan")})
    assert err.value.field == "doc.gross_g"
    assert _block_files(store) == [] and store.pins() == set()


def test_missing_file_is_input_error(store: LocalStore, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="path"):
        store.put_file(tmp_path / "nope.png")


def test_corrupted_block_is_never_returned(
    store: LocalStore, sample_files: dict[str, Path]
) -> None:
    cid = store.put_file(sample_files["chunk_plus_one"])
    leaf = max(_block_files(store), key=lambda p: p.stat().st_size)
    data = bytearray(leaf.read_bytes())
    data[1000] ^= 0xFF
    leaf.write_bytes(bytes(data))
    with pytest.raises(BlockCorrupted, match=leaf.name):
        store.get(cid)
    out = store.root.parent / "out.car"
    with pytest.raises(BlockCorrupted):
        store.export_car(cid, out)
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.car")]


def test_put_block_refuses_mismatch(store: LocalStore) -> None:
    cid = store.put_bytes(b"right")
    other = store.put_bytes(b"other", pin=False)
    with pytest.raises(BlockCorrupted):
        store.put_block(other, b"wrong")  # not stored under a CID it does not match
    assert store.get(other) == b"other" and store.get(cid) == b"right"


def test_missing_block_is_content_error(store: LocalStore, sample_files: dict[str, Path]) -> None:
    cid = store.put_file(sample_files["chunk_plus_one"], pin=False)
    min(_block_files(store), key=lambda p: p.stat().st_size).unlink()  # the 1-byte leaf
    with pytest.raises(ContentError, match="is not in"):
        store.get(cid)
    with pytest.raises(ContentError):
        store.pin(cid)
    assert store.pins() == set()


def test_no_temp_files_left_behind(store: LocalStore, sample_files: dict[str, Path]) -> None:
    store.put_file(sample_files["one_mib"])
    assert list((store.root / "tmp").iterdir()) == []
    for path in _block_files(store):
        assert path.parent.name == path.name[-3:-1]  # next-to-last/2 sharding
        binary = multibase.decode(path.name)  # name = base32 of the binary CID
        assert block_key(binary) == path.name and store.get_block(binary) == path.read_bytes()


def test_car_round_trip(tmp_path: Path, sample_files: dict[str, Path]) -> None:
    a = LocalStore(tmp_path / "a")
    cid = a.put_file(sample_files["ten_mib"])
    car = a.export_car(cid, tmp_path / "asset.car")
    with car.open("rb") as f:
        roots, blocks = read_car(f)
        listed = list(blocks)
    assert roots == [bytes(cid)] and listed[0][0] == bytes(cid)  # root block first
    assert len(listed) == 40 + 1  # 40 raw leaves and the root node
    b = LocalStore(tmp_path / "b")
    assert b.import_car(car) == [cid]
    assert b.get(cid) == sample_files["ten_mib"].read_bytes()
    assert cid in b.pins()


def test_export_needs_a_pin(store: LocalStore, tmp_path: Path) -> None:
    cid = store.put_bytes(b"loose", pin=False)
    with pytest.raises(ContentError, match="not pinned"):
        store.export_car(cid, tmp_path / "x.car")
    assert not (tmp_path / "x.car").exists()


def _tampered_car(
    src: LocalStore, cid: object, path: Path, *, drop: int | None = None, flip: int | None = None
) -> Path:
    original = src.export_car(cid, path.with_suffix(".orig"))  # type: ignore[arg-type]
    with original.open("rb") as src_f, path.open("wb") as f:
        roots, blocks = read_car(src_f)
        write_car_header(f, roots)
        for i, (c, data) in enumerate(blocks):
            if i == drop:
                continue
            if i == flip:
                data = data[:-1] + bytes([data[-1] ^ 1])
            write_car_block(f, c, data)
    return path


@pytest.mark.parametrize(
    ("drop", "flip", "error"), [(None, 2, BlockCorrupted), (3, None, ContentError)]
)
def test_bad_car_imports_nothing(
    tmp_path: Path,
    sample_files: dict[str, Path],
    drop: int | None,
    flip: int | None,
    error: type[Exception],
) -> None:
    src = LocalStore(tmp_path / "src")
    cid = src.put_file(sample_files["one_mib"])
    car = _tampered_car(src, cid, tmp_path / "bad.car", drop=drop, flip=flip)
    dst = LocalStore(tmp_path / "dst")
    with pytest.raises(error):
        dst.import_car(car)
    assert _block_files(dst) == [] and dst.pins() == set()


def test_not_a_car(tmp_path: Path, store: LocalStore) -> None:
    junk = tmp_path / "junk.car"
    junk.write_bytes(os.urandom(64))
    with pytest.raises(ContentError):
        store.import_car(junk)


def test_a_header_string_that_is_not_utf8_is_a_content_error(tmp_path: Path,
                                                             store: LocalStore) -> None:
    # varint length 3, then CBOR text string of length 2 (0x62) holding invalid UTF-8
    bad = tmp_path / "bad.car"
    bad.write_bytes(bytes([3, 0x62, 0xC3, 0x28]))
    with pytest.raises(ContentError, match="not UTF-8"):
        store.import_car(bad)
