"""KuboStore against a real js-ipfs daemon; LocalStore CARs loaded by the daemon and back."""

from __future__ import annotations

import socket
import struct
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
import requests

from xcr_py.content import file_cid, json_cid, raw_cid
from xcr_py.content.kubo import KuboStore, to_multiaddr
from xcr_py.content.local import LocalStore
from xcr_py.errors import BlockCorrupted, ContentError, InputError, StoreUnavailable


@pytest.fixture
def kubo(ipfs_api: str) -> KuboStore:
    store = KuboStore(ipfs_api, timeout_s=60)
    yield store  # type: ignore[misc]
    store.close()


@pytest.mark.parametrize("name", ["one_byte", "chunk_plus_one", "two_level"])
def test_put_file_get(kubo: KuboStore, sample_files: dict[str, Path], name: str) -> None:
    path = sample_files[name]
    cid = kubo.put_file(path)
    assert cid == file_cid(path)
    assert kubo.has(cid) and cid in kubo.pins()
    assert kubo.get(cid) == path.read_bytes()


def test_put_json_get_json(kubo: KuboStore) -> None:
    doc = {"schema": "xcr/receipt/1", "emissions": {"gross_mg": 1234}}
    cid = kubo.put_json(doc)
    assert cid == json_cid(doc) and kubo.get_json(cid) == doc


def test_unpinned_put_then_pin(kubo: KuboStore) -> None:
    cid = kubo.put_bytes(b"pin me later", pin=False)
    assert cid not in kubo.pins()
    kubo.pin(cid)
    assert cid in kubo.pins()
    kubo.unpin(cid)
    assert cid not in kubo.pins()


def test_has_is_false_for_unknown_block(kubo: KuboStore) -> None:
    assert not kubo.has(raw_cid(b"never added to this daemon"))


def test_daemon_cid_mismatch_fails_the_put(kubo: KuboStore, sample_files: dict[str, Path]) -> None:
    # Make the daemon chunk differently (1 KiB): its CID differs, so the put must fail
    # and the pin the daemon made must be removed.
    path = sample_files["one_mib"]
    real_add = kubo._client.add

    def add_with_small_chunks(*args: Any, **kwargs: Any) -> Any:
        return real_add(*args, chunker="size-1024", **kwargs)

    kubo._client.add = add_with_small_chunks  # type: ignore[method-assign]
    try:
        with pytest.raises(ContentError, match="put refused"):
            kubo.put_file(path)
        with warnings.catch_warnings():  # ipfshttpclient 0.7 vs urllib3 2
            warnings.simplefilter("ignore", FutureWarning)
            daemon_cid = add_with_small_chunks(
                str(path),
                cid_version=1,
                raw_leaves=True,
                only_hash=True,
                opts={"cid-base": "base32"},
            )["Hash"]
    finally:
        kubo._client.add = real_add  # type: ignore[method-assign]
    pins = {str(c) for c in kubo.pins()}
    assert daemon_cid != str(file_cid(path))
    assert daemon_cid not in pins and str(file_cid(path)) not in pins


def test_daemon_down_is_store_unavailable(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    store = KuboStore(f"http://127.0.0.1:{port}", timeout_s=5)
    path = tmp_path / "asset.bin"
    path.write_bytes(b"payload")
    before = sorted(tmp_path.iterdir())
    for call in (
        lambda: store.put_file(path),
        lambda: store.put_json({"a": 1}),
        lambda: store.get(raw_cid(b"x")),
        store.pins,
    ):
        with pytest.raises(StoreUnavailable, match=f"127.0.0.1/tcp/{port}"):
            call()
    assert sorted(tmp_path.iterdir()) == before


def test_address_forms() -> None:
    assert to_multiaddr("http://127.0.0.1:5001") == "/ip4/127.0.0.1/tcp/5001/http"
    assert to_multiaddr("https://ipfs.example.org:443/") == "/dns/ipfs.example.org/tcp/443/https"
    assert to_multiaddr("http://[::1]:5001") == "/ip6/::1/tcp/5001/http"
    assert to_multiaddr("/ip4/10.0.0.1/tcp/5001/http") == "/ip4/10.0.0.1/tcp/5001/http"
    with pytest.raises(InputError, match="kubo_url"):
        to_multiaddr("ftp://host")


def test_daemon_serving_wrong_bytes_is_detected(kubo: KuboStore) -> None:
    good = kubo.put_bytes(b"the real bytes")
    kubo._client.cat = lambda *a, **k: iter([b"other bytes"])  # type: ignore[method-assign]
    with pytest.raises(BlockCorrupted):
        kubo.get(good)


def test_local_car_loads_into_daemon_and_back(
    tmp_path: Path, sample_files: dict[str, Path], ipfs_daemon: Any
) -> None:
    local = LocalStore(tmp_path / "local")
    cid = local.put_file(sample_files["ten_mib"])
    car = local.export_car(cid, tmp_path / "asset.car")
    api = f"{ipfs_daemon.api_url}/api/v0"
    with car.open("rb") as f:
        resp = requests.post(
            f"{api}/dag/import",
            params={"cid-base": "base32"},
            files={"file": ("asset.car", f, "application/octet-stream")},
            timeout=60,
        )
    resp.raise_for_status()
    assert resp.json()["Root"]["Cid"]["/"] == str(cid)
    # ...and the daemon's own export loads back into a fresh LocalStore.
    exported = requests.post(f"{api}/dag/export", params={"arg": str(cid)}, timeout=60)
    exported.raise_for_status()
    (tmp_path / "daemon.car").write_bytes(exported.content)
    fresh = LocalStore(tmp_path / "fresh")
    assert fresh.import_car(tmp_path / "daemon.car") == [cid]
    assert fresh.get(cid) == sample_files["ten_mib"].read_bytes()


def _resetting_server() -> tuple[socket.socket, int, list[int]]:
    """A loopback listener that resets every connection once the request has arrived."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed by the test
                return
            accepted.append(1)
            conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST: what a daemon stopping mid-request does to the client

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1], accepted


def test_a_request_reset_mid_flight_is_retried_then_unavailable() -> None:
    server, port, accepted = _resetting_server()
    store = KuboStore(f"http://127.0.0.1:{port}", timeout_s=5, retry_s=1)
    try:
        with pytest.raises(StoreUnavailable, match=f"127.0.0.1/tcp/{port}"):
            store.put_json({"a": 1})
        assert len(accepted) >= 3  # retried (0.1 + 0.2 + 0.4 s backoff), not failed at once
    finally:
        store.close()
        server.close()


def test_a_reset_then_an_answer_succeeds_and_a_bad_reply_does_not_retry() -> None:
    import urllib3
    from ipfshttpclient import exceptions as ipfs_exc

    store = KuboStore("http://127.0.0.1:1", timeout_s=5, retry_s=5)
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:  # exactly the shape ipfshttpclient raises for a reset request
            raise ipfs_exc.ProtocolError(urllib3.exceptions.ProtocolError(
                "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")))
        return "ok"

    assert store._call("add", flaky) == "ok" and len(calls) == 2

    def garbled() -> str:
        calls.append(1)
        raise ipfs_exc.ProtocolError(ValueError("not JSON"))

    with pytest.raises(ContentError, match="refused add"):
        store._call("add", garbled)
    assert len(calls) == 3  # not retried
