"""One behaviour suite run against every BlockStore backend (LocalStore and KuboStore)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from xcr_py.content import BlockStore, KuboStore, LocalStore, bytes_cid, file_cid, json_cid, raw_cid
from xcr_py.errors import InputError


@pytest.fixture(params=["local", "kubo"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlockStore]:
    if request.param == "local":
        yield LocalStore(tmp_path / "store")
        return
    kubo = KuboStore(request.getfixturevalue("ipfs_api"), timeout_s=60)
    yield kubo
    kubo.close()


def test_bytes_round_trip_and_cid(store: BlockStore) -> None:
    data = b"frame-0001" * 40000  # two chunks
    cid = store.put_bytes(data)
    assert cid == bytes_cid(data) and str(cid).startswith("bafy")
    assert store.get(cid) == data
    assert b"".join(store.iter_content(cid)) == data
    assert store.has(cid) and cid in store.pins()


def test_json_round_trip_is_canonical(store: BlockStore) -> None:
    doc = {"b": [1, 2, {"c": None}], "a": "é"}
    cid = store.put_json(doc)
    assert cid == json_cid(doc) == store.put_json({"a": "é", "b": [1, 2, {"c": None}]})
    assert store.get(cid) == '{"a":"é","b":[1,2,{"c":null}]}'.encode()
    assert store.get_json(cid) == doc


def test_file_round_trip(store: BlockStore, sample_files: dict[str, Path]) -> None:
    path = sample_files["one_mib"]
    cid = store.put_file(path)
    assert cid == file_cid(path) and store.get(cid) == path.read_bytes()


def test_pin_later(store: BlockStore) -> None:
    cid = store.put_bytes(b"behaviour: pin later", pin=False)
    assert store.has(cid) and cid not in store.pins()
    store.pin(cid)
    assert cid in store.pins()


def test_unknown_is_not_had(store: BlockStore) -> None:
    assert not store.has(raw_cid(b"behaviour: never stored"))


def test_invalid_json_stores_nothing(store: BlockStore) -> None:
    before = store.pins()
    with pytest.raises(InputError, match=r"doc\.x"):
        store.put_json({"x": float("inf")})
    assert store.pins() == before
