"""Content addressing: Kubo-identical CIDs, canonical JSON, and block stores.

Public surface (everything else in this package is an implementation detail):

* :func:`canonical_json`, :func:`json_cid` — one document, one byte string, one CID;
* :func:`bytes_cid`, :func:`file_cid`, :func:`raw_cid`, :func:`parse_cid`, :data:`Cid` —
  CIDs identical to ``ipfs add --cid-version=1 --raw-leaves=true`` (or ``--cid-version=0``).
"""

from __future__ import annotations

from xcr_py.content.canonical import canonical_json, json_cid
from xcr_py.content.cid import Cid, bytes_cid, file_cid, parse_cid, raw_cid

__all__ = [
    "Cid",
    "bytes_cid",
    "canonical_json",
    "file_cid",
    "json_cid",
    "parse_cid",
    "raw_cid",
]
