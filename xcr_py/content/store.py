"""The one interface every block store offers the pipeline.

Implementations: :class:`~xcr_py.content.local.LocalStore` (embedded default, blocks on disk,
CAR export/import) and :class:`~xcr_py.content.kubo.KuboStore` (a Kubo RPC daemon). All CIDs
returned are CIDv1 base32, computed the way ``ipfs add --cid-version=1 --raw-leaves`` does,
whatever the backend: a store never invents its own addressing.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from multiformats import CID

from xcr_py.content.canonical import canonical_json
from xcr_py.errors import ContentError

__all__ = ["BlockStore", "CidLike"]

CidLike = CID | str
"""A CID object or its text form."""


class BlockStore(ABC):
    """Content-addressed storage of files and JSON documents, with a pin set."""

    @abstractmethod
    def put_file(self, path: str | Path, *, pin: bool = True) -> CID:
        """Store the file at ``path`` (streamed) and return its CID; pin it unless ``pin=False``."""

    @abstractmethod
    def put_bytes(self, data: bytes, *, pin: bool = True) -> CID:
        """Store ``data`` as a file and return its CID; pin it unless ``pin=False``."""

    def put_bytes_binary(self, data: bytes, *, pin: bool = True) -> bytes:
        """:meth:`put_bytes`, returning the binary CID (hot paths skip building a CID object)."""
        return bytes(self.put_bytes(data, pin=pin))

    @contextmanager
    def deferred_sync(self) -> Iterator[None]:
        """Group the writes made inside the block (by this thread) for durability.

        A store may make them durable all at once when the block exits, before it returns
        (one filesystem sync instead of one per block); until then they are visible but may
        not survive a power loss. Callers commit anything that refers to these blocks only
        after the block. The default makes every write durable when it returns.
        """
        yield

    def put_json(self, doc: object, *, pin: bool = True) -> CID:
        """Store ``doc`` as canonical JSON (:func:`~xcr_py.content.canonical_json`); its CID.

        Raises:
            InputError: ``doc`` cannot be encoded canonically (nothing is stored).
        """
        return self.put_bytes(canonical_json(doc), pin=pin)

    @abstractmethod
    def iter_content(self, cid: CidLike) -> Iterator[bytes]:
        """Yield the file bytes under ``cid`` in order, verified against the CID."""

    def get(self, cid: CidLike) -> bytes:
        """The whole file under ``cid``, verified (see :meth:`iter_content` for big files).

        Raises:
            BlockCorrupted: a block does not match its CID.
            ContentError: ``cid`` is not in the store.
        """
        return b"".join(self.iter_content(cid))

    def get_json(self, cid: CidLike) -> object:
        """The JSON document under ``cid``."""
        data = self.get(cid)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ContentError(f"content {cid} is not JSON: {exc}") from exc

    @abstractmethod
    def pin(self, cid: CidLike) -> None:
        """Keep the whole DAG under ``cid`` (it must be in the store)."""

    @abstractmethod
    def has(self, cid: CidLike) -> bool:
        """Whether the root block of ``cid`` is in the store (without fetching it elsewhere)."""

    @abstractmethod
    def pins(self) -> set[CID]:
        """The CIDs pinned directly (recursively), as CIDv1 base32 where they are v1."""
