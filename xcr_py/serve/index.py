"""An index of what the block store holds: receipts by asset CID, batch documents, campaigns.

Built by reading each pinned root once (only the first block of each: JSON documents start
with ``{``, media files do not). Receipt documents are parsed and kept; batch documents map
each leaf's asset CID to its batch. The index is rebuilt when asked for something it does not
know and the set of pins has changed (rate-limited), so an RPC deployment that keeps settling
is seen without a restart.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from xcr_py.content.store import BlockStore
from xcr_py.errors import XcrError

__all__ = ["BatchEntry", "StoreIndex"]

_MAX_DOC_BYTES = 4 * 1024 * 1024
"""Receipt and batch documents are small; a larger pinned root is media, never parsed."""


@dataclass(frozen=True)
class BatchEntry:
    """One leaf of a batch document: the batch document's CID, its root and the leaf itself."""

    batch_cid: str
    root: str
    leaf: dict[str, Any]


@dataclass
class _Snapshot:
    pins: frozenset[str] = frozenset()
    receipts: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    """asset CID -> (receipt CID, receipt document)."""
    batches: dict[str, BatchEntry] = field(default_factory=dict)
    """asset CID -> its batch leaf."""
    batch_docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """batch document CID -> document."""
    campaigns: dict[str, list[str]] = field(default_factory=dict)
    """campaign -> asset CIDs (sorted)."""


def _read_doc(store: BlockStore, cid: str) -> dict[str, Any] | None:
    chunks = store.iter_content(cid)
    first = next(chunks, b"")
    if first.lstrip()[:1] != b"{":
        return None
    data = bytearray(first)
    for chunk in chunks:
        data += chunk
        if len(data) > _MAX_DOC_BYTES:
            return None
    try:
        doc = json.loads(bytes(data))
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


class StoreIndex:
    """Receipts, batch leaves and campaigns found in a block store's pins.

    Args:
        store: the block store to read.
        rescan_interval_s: least time between two rescans triggered by unknown lookups.
    """

    def __init__(self, store: BlockStore, rescan_interval_s: float = 5.0) -> None:
        self._store = store
        self._interval = rescan_interval_s
        self._lock = threading.Lock()
        self._snap = _Snapshot()
        self._scanned_at = float("-inf")
        self.rescan()

    def rescan(self) -> None:
        """Read the pins again (only roots not seen before are opened)."""
        with self._lock:
            self._scanned_at = time.monotonic()
            pins = frozenset(str(c) for c in self._store.pins())
            if pins == self._snap.pins:
                return
            old = self._snap
            snap = _Snapshot(pins, dict(old.receipts), dict(old.batches), dict(old.batch_docs))
            for cid in sorted(pins - old.pins):
                try:
                    doc = _read_doc(self._store, cid)
                except XcrError:  # a damaged or missing block: verification will say so
                    continue
                if doc is None:
                    continue
                schema = doc.get("schema")
                asset = doc.get("asset")
                if schema == "xcr.receipt/1" and isinstance(asset, dict) \
                        and isinstance(asset.get("cid"), str):
                    snap.receipts[asset["cid"]] = (cid, doc)
                elif schema == "xcr.batch/1":
                    snap.batch_docs[cid] = doc
                    for leaf in doc.get("leaves") or []:
                        if isinstance(leaf, dict) and isinstance(leaf.get("asset_cid"), str):
                            snap.batches[leaf["asset_cid"]] = BatchEntry(
                                cid, str(doc.get("root", "")), leaf)
            campaigns: dict[str, list[str]] = {}
            for asset_cid, (_, doc) in snap.receipts.items():
                name = doc["asset"].get("campaign")
                if isinstance(name, str):
                    campaigns.setdefault(name, []).append(asset_cid)
            snap.campaigns = {k: sorted(v) for k, v in campaigns.items()}
            self._snap = snap

    def _maybe_rescan(self) -> None:
        if time.monotonic() - self._scanned_at >= self._interval:
            self.rescan()

    def receipt_for(self, asset_cid: str) -> tuple[str, dict[str, Any]] | None:
        """(receipt CID, receipt document) naming ``asset_cid``, or None."""
        found = self._snap.receipts.get(asset_cid)
        if found is None:
            self._maybe_rescan()
            found = self._snap.receipts.get(asset_cid)
        return found

    def batch_for(self, asset_cid: str) -> BatchEntry | None:
        """The batch leaf listing ``asset_cid``, or None (single mode or unknown)."""
        return self._snap.batches.get(asset_cid)

    def batch_doc(self, cid: str) -> dict[str, Any] | None:
        """A batch document by its CID."""
        return self._snap.batch_docs.get(cid)

    def campaign(self, name: str) -> list[str] | None:
        """Asset CIDs of campaign ``name`` (sorted), or None."""
        found = self._snap.campaigns.get(name)
        if found is None:
            self._maybe_rescan()
            found = self._snap.campaigns.get(name)
        return found

    def campaigns(self) -> list[str]:
        """Known campaign names, sorted."""
        return sorted(self._snap.campaigns)
