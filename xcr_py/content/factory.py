"""Choose the block store the configuration names (``[store]`` section of :class:`XcrConfig`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xcr_py.content.store import BlockStore

if TYPE_CHECKING:
    from xcr_py.config import XcrConfig

__all__ = ["open_store"]


def open_store(config: XcrConfig) -> BlockStore:
    """A :class:`LocalStore` at ``config.store_path`` or a :class:`KuboStore` at ``kubo_url``."""
    if config.store.backend == "kubo":
        from xcr_py.content.kubo import KuboStore

        assert config.store.kubo_url is not None  # the config validator requires it
        return KuboStore(config.store.kubo_url, timeout_s=config.store.timeout_s)
    from xcr_py.content.local import LocalStore

    return LocalStore(config.store_path)
