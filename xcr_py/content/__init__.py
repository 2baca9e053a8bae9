"""Content addressing: Kubo-identical CIDs, canonical JSON, and block stores.

Public surface (everything else in this package is an implementation detail):

* :func:`canonical_json`, :func:`json_cid` — one document, one byte string, one CID;
* :func:`bytes_cid`, :func:`file_cid`, :func:`raw_cid`, :func:`parse_cid`, :data:`Cid` —
  CIDs identical to ``ipfs add --cid-version=1 --raw-leaves=true`` (or ``--cid-version=0``);
* :class:`BlockStore` and its backends :class:`LocalStore` (default) and :class:`KuboStore`
  (imported on first use: it pulls in ipfshttpclient); :func:`open_store` picks one from
  the configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xcr_py.content.canonical import canonical_json, json_cid
from xcr_py.content.cid import Cid, bytes_cid, file_cid, parse_cid, raw_cid
from xcr_py.content.factory import open_store
from xcr_py.content.local import LocalStore
from xcr_py.content.store import BlockStore

if TYPE_CHECKING:
    from xcr_py.content.kubo import KuboStore

__all__ = [
    "BlockStore",
    "Cid",
    "KuboStore",
    "LocalStore",
    "bytes_cid",
    "canonical_json",
    "file_cid",
    "json_cid",
    "open_store",
    "parse_cid",
    "raw_cid",
]


def __getattr__(name: str) -> object:
    if name == "KuboStore":
        from xcr_py.content.kubo import KuboStore

        return KuboStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
