"""open_store picks the backend the configuration names."""

from __future__ import annotations

from pathlib import Path

from xcr_py.config import load_config
from xcr_py.content import KuboStore, LocalStore, open_store


def test_default_is_local_store_under_data_dir(tmp_path: Path) -> None:
    config = load_config(env={}, overrides={"chain.data_dir": str(tmp_path)}, cwd=tmp_path)
    store = open_store(config)
    assert isinstance(store, LocalStore) and store.root == tmp_path / "blocks"


def test_kubo_backend(tmp_path: Path) -> None:
    config = load_config(
        env={"XCR_STORE_BACKEND": "kubo", "XCR_STORE_KUBO_URL": "http://127.0.0.1:5001"},
        cwd=tmp_path,
    )
    store = open_store(config)
    assert isinstance(store, KuboStore) and store.addr == "/ip4/127.0.0.1/tcp/5001/http"
    store.close()
