"""Durable outbox: each asset's way from render to receipt, one committed step at a time.

One SQLite file (WAL journal, ``synchronous=FULL``) holds one row per asset, keyed by the
asset digest (sha256 of the asset bytes), and one row per Merkle batch::

    pending ──► pinned ──► signed ──► submitted ──► confirmed
       │           │          │            │
       └───────────┴──────────┴────────────┴──► failed   (permanent: decoded error name + args)

Every transition is one ``BEGIN IMMEDIATE … COMMIT`` that checks the expected from-state
(compare-and-set) and stores what the step produced (CIDs, receipt bytes, report and
signatures, tx hash, token id, batch and inclusion proof). A transition is committed
*before* the next side effect starts, so after a crash each row says exactly which step
to (re)do:

* ``pending``: nothing durable happened; pinning again is idempotent (content addressed).
* ``pinned``: receipt pinned; signing again is harmless (the signed report is stored at
  ``signed``, so only one report per asset ever leaves this process).
* ``signed``: the transaction may or may not have been sent before the crash. Read chain
  state (receipt for the asset digest, or the report nonce) *before* re-submitting; the
  contract also refuses a report twice.
* ``submitted``: look up ``tx_hash``; confirm, or re-submit the stored signed report.

Transient errors (RPC, IPFS) call :meth:`Outbox.retry_later`: ``attempts`` grows and
``next_attempt_at`` moves out by exponential backoff with jitter; :meth:`Outbox.due` only
returns rows whose time has come. Permanent errors (a decoded contract revert) call
:meth:`Outbox.fail`; failed rows are never returned as work.

A full disk: a write that SQLite cannot complete (``SQLITE_FULL``) is rolled back whole (nothing
half-written) and raised as :class:`OutboxFull`, naming the file. The public write methods
first wait for space (backoff, up to :attr:`RetryPolicy.disk_full_wait_s`, one warning logged),
then retry the same call: each is one transaction, so a retry cannot apply anything twice.

Batch mode: pinned rows are grouped with :meth:`Outbox.create_batch` (leaf order fixed at
creation); the batch then moves ``open → signed → submitted → confirmed`` (or ``failed``)
and carries its items along in the same transaction, each item storing its leaf index and
inclusion proof.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, ParamSpec, TypeVar

from xcr_py.errors import InputError, OracleError

__all__ = [
    "BATCH_STATES",
    "STATES",
    "Batch",
    "BatchMember",
    "BatchState",
    "Item",
    "Outbox",
    "OutboxConflict",
    "OutboxFull",
    "OutboxStatus",
    "RetryPolicy",
    "State",
]

State = Literal["pending", "pinned", "signed", "submitted", "confirmed", "failed"]
BatchState = Literal["open", "signed", "submitted", "confirmed", "failed"]
STATES: Final[tuple[State, ...]] = ("pending", "pinned", "signed", "submitted", "confirmed",
                                    "failed")
BATCH_STATES: Final[tuple[BatchState, ...]] = ("open", "signed", "submitted", "confirmed",
                                               "failed")
ACTIVE: Final[tuple[State, ...]] = ("pending", "pinned", "signed", "submitted")

SCHEMA_VERSION = 1

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS items (
    id              INTEGER PRIMARY KEY,
    asset_digest    BLOB NOT NULL UNIQUE CHECK (length(asset_digest) = 32),
    state           TEXT NOT NULL CHECK (state IN {STATES!r}),
    payload         TEXT NOT NULL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT,
    asset_cid       TEXT,
    receipt_cid     TEXT,
    receipt_digest  BLOB,
    receipt_path    TEXT,
    report          TEXT,
    signatures      TEXT,
    tx_hash         TEXT,
    token_id        TEXT,
    batch_id        INTEGER REFERENCES batches(batch_id),
    leaf_index      INTEGER,
    proof           BLOB,
    failed_from     TEXT,
    error_name      TEXT,
    error_args      TEXT,
    CHECK (state = 'pending' OR state = 'failed' OR receipt_cid IS NOT NULL),
    CHECK (state NOT IN ('signed', 'submitted', 'confirmed') OR signatures IS NOT NULL
           OR batch_id IS NOT NULL),
    CHECK (state NOT IN ('submitted', 'confirmed') OR tx_hash IS NOT NULL),
    CHECK (state != 'failed' OR error_name IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS items_due ON items (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS items_batch ON items (batch_id);
CREATE TABLE IF NOT EXISTS receipts (
    item_id         INTEGER PRIMARY KEY REFERENCES items(id),
    bytes           BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    state           TEXT NOT NULL CHECK (state IN {BATCH_STATES!r}),
    leaves          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    root            BLOB,
    report          TEXT,
    signatures      TEXT,
    tx_hash         TEXT,
    token_id        TEXT,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT,
    failed_from     TEXT,
    error_name      TEXT,
    error_args      TEXT,
    CHECK (state = 'open' OR state = 'failed' OR root IS NOT NULL),
    CHECK (state NOT IN ('submitted', 'confirmed') OR tx_hash IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS batches_due ON batches (state, next_attempt_at);
"""


# Receipt bytes live in their own table: written once, never rewritten by later transitions.
_SELECT_ITEMS = ("SELECT items.*, receipts.bytes AS receipt_bytes FROM items "
                 "LEFT JOIN receipts ON receipts.item_id = items.id")


class OutboxConflict(OracleError):
    """A transition's compare-and-set failed: the row is missing or in another state."""


class OutboxFull(OracleError):
    """The outbox's disk is full: the transaction was rolled back, nothing was written."""


_log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _is_full(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "disk is full" in str(exc))


def _waits_for_space(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Retry a whole write call while the disk is full, up to ``policy.disk_full_wait_s``.

    Safe because each public write is one transaction that either committed or changed
    nothing; a nested call (one write method calling another) leaves waiting to the outer.
    """
    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        self: Outbox = args[0]  # type: ignore[assignment]
        if getattr(self._local, "writing", False):
            return method(*args, **kwargs)
        self._local.writing = True
        try:
            deadline = time.monotonic() + self.policy.disk_full_wait_s
            delay, warned = 0.05, False
            while True:
                try:
                    return method(*args, **kwargs)
                except OutboxFull as exc:
                    if time.monotonic() + delay > deadline:
                        raise
                    if not warned:  # once per wait: the condition, not every probe
                        _log.warning("%s; waiting up to %.0f s for space",
                                     exc, self.policy.disk_full_wait_s)
                        warned = True
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
        finally:
            self._local.writing = False
    return wrapper


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for transient errors.

    The n-th retry waits ``min(cap_s, base_s * 2**(n-1))``, scaled by a random factor in
    ``[1 - jitter, 1]`` so that many workers failing together do not retry together.
    After ``max_attempts`` transient errors the row fails with ``RetriesExhausted``.
    A write that finds the disk full waits up to ``disk_full_wait_s`` for space before
    :class:`OutboxFull` is raised (0: raise at once).
    """

    base_s: float = 1.0
    cap_s: float = 300.0
    jitter: float = 0.5
    max_attempts: int = 12
    disk_full_wait_s: float = 300.0

    def delay_s(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the ``attempts``-th consecutive transient error."""
        raw = min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))
        return raw * (1 - self.jitter * rng.random())


@dataclass(frozen=True)
class Item:
    """One asset's outbox row. Bytes fields are raw bytes; ``token_id`` is an int."""

    asset_digest: bytes
    state: State
    payload: dict[str, Any]
    created_at: float
    updated_at: float
    attempts: int
    next_attempt_at: float
    last_error: str | None = None
    asset_cid: str | None = None
    receipt_cid: str | None = None
    receipt_digest: bytes | None = None
    receipt_bytes: bytes | None = None
    receipt_path: str | None = None
    report: dict[str, Any] | None = None
    signatures: tuple[bytes, ...] = ()
    tx_hash: str | None = None
    token_id: int | None = None
    batch_id: int | None = None
    leaf_index: int | None = None
    proof: tuple[bytes, ...] = ()
    failed_from: State | None = None
    error_name: str | None = None
    error_args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Batch:
    """One Merkle batch: its leaves (asset digests, in leaf order) and settlement data."""

    batch_id: int
    state: BatchState
    leaves: tuple[bytes, ...]
    created_at: float
    updated_at: float
    attempts: int
    next_attempt_at: float
    root: bytes | None = None
    report: dict[str, Any] | None = None
    signatures: tuple[bytes, ...] = ()
    tx_hash: str | None = None
    token_id: int | None = None
    last_error: str | None = None
    failed_from: BatchState | None = None
    error_name: str | None = None
    error_args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchMember:
    """One item of a batch as its leaf needs it (see :meth:`Outbox.batch_members`)."""

    asset_digest: bytes
    receipt_digest: bytes
    asset_cid: str | None
    receipt_cid: str | None
    creator: str
    energy_mj: int
    gross_mg: int


_NO_MEMBER = BatchMember(b"", b"", None, None, "", 0, 0)


@dataclass(frozen=True)
class OutboxStatus:
    """Counts per state, and the oldest asset not yet confirmed or failed."""

    counts: dict[str, int]
    batch_counts: dict[str, int]
    oldest_pending: Item | None = None
    unbatched_pinned: int = 0

    @property
    def active(self) -> int:
        """Assets still on their way (pending, pinned, signed, submitted)."""
        return sum(self.counts[s] for s in ACTIVE)


def _hex_list(values: Sequence[bytes]) -> str:
    return json.dumps(["0x" + bytes(v).hex() for v in values])


def _from_hex_list(text: str | None) -> tuple[bytes, ...]:
    return tuple(bytes.fromhex(v[2:]) for v in json.loads(text)) if text else ()


def _pack_proof(nodes: Sequence[bytes]) -> bytes:
    for node in nodes:
        if len(node) != 32:
            raise InputError("proofs", f"proof nodes must be 32 bytes, got {len(node)}")
    return b"".join(bytes(n) for n in nodes)


def _unpack_proof(blob: bytes | None) -> tuple[bytes, ...]:
    data = bytes(blob or b"")
    return tuple(data[i:i + 32] for i in range(0, len(data), 32))


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return str(value)


def _to_json(value: Mapping[str, Any]) -> str:
    """Sorted JSON text of a payload or report: bytes as 0x-hex, other mappings as objects,
    anything else JSON lacks as its ``str()``.

    Plain data goes straight through json's C encoder (what a tracker's payloads are); keys
    it refuses or cannot sort send the value through :func:`_jsonable` first. (Non-string
    keys it takes are spelled its way, ``true`` rather than ``True``.)
    """
    try:
        return json.dumps(value, sort_keys=True, default=_json_default)
    except TypeError:
        return json.dumps(_jsonable(value), sort_keys=True)


def _digest(value: bytes, name: str = "asset_digest") -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise InputError(name, "must be 32 bytes (a sha256 digest)")
    return bytes(value)


def _token(value: int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**256:
        raise InputError("token_id", f"must be a uint256, got {value!r}")
    return str(value)


def _tx(value: str) -> str:
    if not (isinstance(value, str) and value.startswith("0x") and len(value) == 66):
        raise InputError("tx_hash", "must be a 0x-prefixed 32-byte hex string")
    int(value, 16)
    return value.lower()


class Outbox:
    """The durable outbox of one worker (one SQLite file; one writer process at a time).

    Args:
        path: SQLite file; created with its tables when missing.
        clock: seconds since the epoch (injected by tests).
        rng: randomness for backoff jitter.
        policy: backoff and retry limit for transient errors.
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None, policy: RetryPolicy | None = None) -> None:
        self.path = Path(path)
        self._clock = clock
        self._rng = rng or random.Random()
        self.policy = policy or RetryPolicy()
        self._local = threading.local()  # per-thread: is a write call already waiting?
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0,
                                   check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._tx():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise OracleError(f"outbox {self.path}: schema version {version}, this XCR "
                                  f"reads {SCHEMA_VERSION}")
            if version == 0:
                # Statement by statement: executescript() would commit our transaction.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction (BEGIN IMMEDIATE: takes the write lock up front)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back already (disk full)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._db.in_transaction:  # a failed COMMIT can leave the transaction open
                self._db.execute("ROLLBACK")
            if _is_full(exc):
                raise OutboxFull(f"outbox {self.path}: the disk is full; the transaction was "
                                 "rolled back, nothing was written") from exc
            raise

    def sibling(self) -> Outbox:
        """A second connection to the same file, with this one's clock and retry policy.

        For a second thread of the same worker (WAL lets one write while the other reads;
        writes wait for each other, ``BEGIN IMMEDIATE`` with a 30 s busy timeout).
        """
        return Outbox(self.path, clock=self._clock, rng=random.Random(self._rng.random()),
                      policy=self.policy)

    def close(self) -> None:
        """Close the database (committed state is already durable)."""
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    def _move(self, digest: bytes, expected: Sequence[State], to: State,
              values: Mapping[str, Any], now: float | None) -> Item:
        """Compare-and-set one item from one of ``expected`` to ``to``, storing ``values``."""
        digest = _digest(digest)
        at = self._now(now)
        columns = {"state": to, "updated_at": at, "attempts": 0, "next_attempt_at": at,
                   "last_error": None, **values}
        assignments = ", ".join(f"{c} = ?" for c in columns)
        marks = ", ".join("?" for _ in expected)
        with self._tx() as db:
            cursor = db.execute(
                f"UPDATE items SET {assignments} WHERE asset_digest = ? AND state IN ({marks})",
                (*columns.values(), digest, *expected))
            if cursor.rowcount != 1:
                raise self._conflict(db, digest, expected, to)
        return self.get(digest)

    def _conflict(self, db: sqlite3.Connection, digest: bytes, expected: Sequence[State],
                  to: str) -> OutboxConflict:
        row = db.execute("SELECT state FROM items WHERE asset_digest = ?", (digest,)).fetchone()
        where = "is not in the outbox" if row is None else f"is {row[0]}"
        return OutboxConflict(f"asset {digest.hex()}: cannot move to {to}: expected "
                              f"{'/'.join(expected)}, but it {where}")

    # -- items -----------------------------------------------------------------------------

    @_waits_for_space
    def enqueue(self, asset_digest: bytes, payload: Mapping[str, Any] | None = None, *,
                now: float | None = None) -> bool:
        """Add an asset as ``pending``; idempotent per digest.

        Returns:
            True when the row was created, False when the digest was already there (the
            existing row, whatever its state, is left untouched).
        """
        digest = _digest(asset_digest)
        text = _to_json(dict(payload or {}))
        at = self._now(now)
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO items (asset_digest, state, payload, created_at, updated_at, "
                "next_attempt_at) VALUES (?, 'pending', ?, ?, ?, ?) "
                "ON CONFLICT (asset_digest) DO NOTHING", (digest, text, at, at, at))
            return cursor.rowcount == 1

    @_waits_for_space
    def enqueue_failed(self, asset_digest: bytes, payload: Mapping[str, Any] | None = None, *,
                       error_name: str, error_args: Sequence[Any] = (),
                       now: float | None = None) -> bool:
        """Record an asset that failed before it could be queued, as ``failed`` in one commit.

        For a job that could not even be prepared: no ``pending`` row is ever visible, so a
        settler on another connection cannot pick it up in between. Idempotent per digest.

        Returns:
            True when the row was created, False when the digest was already there (the
            existing row is left untouched).
        """
        digest = _digest(asset_digest)
        text = _to_json(dict(payload or {}))
        args = json.dumps(_jsonable(list(error_args)))
        at = self._now(now)
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO items (asset_digest, state, payload, created_at, updated_at, "
                "next_attempt_at, failed_from, error_name, error_args) "
                "VALUES (?, 'failed', ?, ?, ?, ?, 'pending', ?, ?) "
                "ON CONFLICT (asset_digest) DO NOTHING",
                (digest, text, at, at, at, error_name, args))
            return cursor.rowcount == 1

    @_waits_for_space
    def enqueue_many(self, entries: Sequence[tuple[bytes, Mapping[str, Any] | None]], *,
                     now: float | None = None) -> int:
        """:meth:`enqueue` for many assets in one transaction; returns how many were new."""
        at = self._now(now)
        rows = [(_digest(d), _to_json(dict(p or {})), at, at, at)
                for d, p in entries]
        with self._tx() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO items (asset_digest, state, payload, created_at, updated_at, "
                "next_attempt_at) VALUES (?, 'pending', ?, ?, ?, ?) "
                "ON CONFLICT (asset_digest) DO NOTHING", rows)
            return db.total_changes - before

    @_waits_for_space
    def enqueue_pinned_many(self, entries: Sequence[Mapping[str, Any]], *,
                            now: float | None = None) -> int:
        """Record assets that are already pinned, straight in ``pinned``; idempotent.

        For pipelines that hash and pin from memory before recording: a crash before this
        commit leaves no row, so the asset was simply never tracked (pinning is content
        addressed, repeating it is harmless). Each entry has ``asset_digest``, optional
        ``payload``, and the keyword arguments of :meth:`mark_pinned`. Existing digests are
        left untouched.

        Returns:
            How many rows were created.
        """
        at = self._now(now)
        rows, blobs = [], []
        for entry in entries:
            if entry.get("receipt_bytes") is None and entry.get("receipt_path") is None:
                raise InputError("receipt_bytes", "give the receipt bytes or a receipt_path")
            digest = _digest(entry["asset_digest"])
            rows.append((digest, _to_json(dict(entry.get("payload") or {})),
                         at, at, at, str(entry["asset_cid"]), str(entry["receipt_cid"]),
                         _digest(entry["receipt_digest"], "receipt_digest"),
                         entry.get("receipt_path")))
            if entry.get("receipt_bytes") is not None:
                blobs.append((bytes(entry["receipt_bytes"]), digest))
        with self._tx() as db:
            existing = self._existing(db, [r[0] for r in rows])
            fresh: dict[bytes, tuple[Any, ...]] = {}
            for row in rows:
                if row[0] not in existing:
                    fresh.setdefault(row[0], row)
            db.executemany(
                "INSERT INTO items (asset_digest, state, payload, created_at, updated_at, "
                "next_attempt_at, asset_cid, receipt_cid, receipt_digest, receipt_path) "
                "VALUES (?, 'pinned', ?, ?, ?, ?, ?, ?, ?, ?)", list(fresh.values()))
            db.executemany(
                "INSERT INTO receipts (item_id, bytes) SELECT id, ? FROM items "
                "WHERE asset_digest = ?", list({b[1]: b for b in reversed(blobs)
                                                if b[1] in fresh}.values()))
        return len(fresh)

    @staticmethod
    def _existing(db: sqlite3.Connection, digests: Sequence[bytes]) -> set[bytes]:
        """Which of ``digests`` already have a row (queried in chunks of 500)."""
        found: set[bytes] = set()
        for start in range(0, len(digests), 500):
            chunk = digests[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            found.update(bytes(r[0]) for r in db.execute(
                f"SELECT asset_digest FROM items WHERE asset_digest IN ({marks})", chunk))
        return found

    @_waits_for_space
    def mark_pinned_many(self, entries: Sequence[Mapping[str, Any]], *,
                         now: float | None = None) -> int:
        """:meth:`mark_pinned` for many assets in one all-or-nothing transaction.

        Each entry has the keyword arguments of :meth:`mark_pinned` plus ``asset_digest``.

        Raises:
            OutboxConflict: an asset is not pending; nothing is changed then.
        """
        at = self._now(now)
        rows = []
        for entry in entries:
            if entry.get("receipt_bytes") is None and entry.get("receipt_path") is None:
                raise InputError("receipt_bytes", "give the receipt bytes or a receipt_path")
            rows.append((str(entry["asset_cid"]), str(entry["receipt_cid"]),
                         _digest(entry["receipt_digest"], "receipt_digest"),
                         entry.get("receipt_path"), at, at, _digest(entry["asset_digest"])))
        blobs = [(bytes(e["receipt_bytes"]), row[-1]) for e, row in zip(entries, rows, strict=True)
                 if e.get("receipt_bytes") is not None]
        with self._tx() as db:
            before = db.total_changes
            db.executemany(
                "UPDATE items SET state = 'pinned', asset_cid = ?, receipt_cid = ?, "
                "receipt_digest = ?, receipt_path = ?, updated_at = ?, attempts = 0, "
                "next_attempt_at = ?, last_error = NULL "
                "WHERE asset_digest = ? AND state = 'pending'", rows)
            if db.total_changes - before != len(rows):
                raise self._batch_conflict(db, [r[-1] for r in rows], 0, ("pending",), "pinned")
            db.executemany("INSERT OR REPLACE INTO receipts (item_id, bytes) "
                           "SELECT id, ? FROM items WHERE asset_digest = ?", blobs)
        return len(rows)

    @_waits_for_space
    def mark_pinned(self, asset_digest: bytes, *, asset_cid: str, receipt_cid: str,
                    receipt_digest: bytes, receipt_bytes: bytes | None = None,
                    receipt_path: str | None = None, now: float | None = None) -> Item:
        """pending → pinned: asset and receipt are pinned; store their CIDs and the receipt.

        ``receipt_bytes`` (canonical JSON) is stored once, in its own table; or give
        ``receipt_path`` when the receipt is kept as a file.
        """
        self.mark_pinned_many([{
            "asset_digest": asset_digest, "asset_cid": asset_cid, "receipt_cid": receipt_cid,
            "receipt_digest": receipt_digest, "receipt_bytes": receipt_bytes,
            "receipt_path": receipt_path}], now=now)
        return self.get(asset_digest)

    @_waits_for_space
    def mark_signed(self, asset_digest: bytes, *, report: Mapping[str, Any],
                    signatures: Sequence[bytes], now: float | None = None) -> Item:
        """pinned → signed (single mode): store the signed report and its signatures."""
        if not signatures:
            raise InputError("signatures", "must hold at least one signature")
        return self._move(asset_digest, ("pinned",), "signed", {
            "report": _to_json(dict(report)),
            "signatures": _hex_list(signatures)}, now)

    @_waits_for_space
    def mark_submitted(self, asset_digest: bytes, *, tx_hash: str,
                       now: float | None = None) -> Item:
        """signed → submitted: the transaction was sent; store its hash.

        Also allowed from ``submitted`` (a re-submission after a dropped transaction
        records the new hash).
        """
        return self._move(asset_digest, ("signed", "submitted"), "submitted",
                          {"tx_hash": _tx(tx_hash)}, now)

    @_waits_for_space
    def mark_confirmed(self, asset_digest: bytes, *, token_id: int, tx_hash: str | None = None,
                       now: float | None = None) -> Item:
        """submitted → confirmed: the receipt token exists on chain.

        Also allowed from ``signed`` with ``tx_hash``: after a crash, chain state showed the
        report was already settled by a transaction this row never recorded.
        """
        values: dict[str, Any] = {"token_id": _token(token_id)}
        expected: tuple[State, ...] = ("submitted",)
        if tx_hash is not None:
            values["tx_hash"] = _tx(tx_hash)
            expected = ("signed", "submitted")
        return self._move(asset_digest, expected, "confirmed", values, now)

    @_waits_for_space
    def fail(self, asset_digest: bytes, *, error_name: str, error_args: Sequence[Any] = (),
             now: float | None = None) -> Item:
        """Any active state → failed: a permanent error (e.g. a decoded contract revert)."""
        digest = _digest(asset_digest)
        current = self.get(digest)
        return self._move(digest, (current.state,) if current.state in ACTIVE else ACTIVE,
                          "failed", {"failed_from": current.state, "error_name": error_name,
                                     "error_args": json.dumps(_jsonable(list(error_args)))},
                          now)

    @_waits_for_space
    def retry_later(self, asset_digest: bytes, error: str, *, now: float | None = None) -> Item:
        """Record a transient error: back off, or fail with ``RetriesExhausted`` at the limit.

        The state does not change, so the same step is retried once ``next_attempt_at``
        has passed.
        """
        digest = _digest(asset_digest)
        at = self._now(now)
        with self._tx() as db:
            row = db.execute("SELECT state, attempts FROM items WHERE asset_digest = ?",
                             (digest,)).fetchone()
            if row is None or row[0] not in ACTIVE:
                raise self._conflict(db, digest, ACTIVE, "retry")
            state, attempts = row[0], row[1] + 1
            if attempts >= self.policy.max_attempts:
                db.execute("UPDATE items SET state = 'failed', failed_from = ?, error_name = "
                           "'RetriesExhausted', error_args = ?, attempts = ?, last_error = ?, "
                           "updated_at = ? WHERE asset_digest = ?",
                           (state, json.dumps([attempts, error]), attempts, error, at, digest))
            else:
                db.execute("UPDATE items SET attempts = ?, next_attempt_at = ?, last_error = ?, "
                           "updated_at = ? WHERE asset_digest = ?",
                           (attempts, at + self.policy.delay_s(attempts, self._rng), error, at,
                            digest))
        return self.get(digest)

    def get(self, asset_digest: bytes) -> Item:
        """The row for ``asset_digest``.

        Raises:
            OutboxConflict: no such asset.
        """
        digest = _digest(asset_digest)
        row = self._db.execute(f"{_SELECT_ITEMS} WHERE asset_digest = ?",
                               (digest,)).fetchone()
        if row is None:
            raise OutboxConflict(f"asset {digest.hex()}: is not in the outbox")
        return self._item(row)

    def batch_members(self, batch_id: int) -> list[BatchMember]:
        """A batch's items in leaf order, with only what its Merkle leaves and proof
        documents need (no whole-row decoding).

        Raises:
            OutboxConflict: the batch does not exist, or an item lacks its receipt digest.
        """
        batch = self.get_batch(batch_id)
        rows = self._db.execute(
            "SELECT asset_digest, receipt_digest, asset_cid, receipt_cid, "
            "json_extract(payload, '$.creator'), json_extract(payload, '$.energy_mj'), "
            "json_extract(payload, '$.gross_mg') FROM items WHERE batch_id = ? "
            "ORDER BY leaf_index", (batch_id,)).fetchall()
        members = [BatchMember(bytes(r[0]), bytes(r[1] or b""), r[2], r[3], r[4], int(r[5]),
                               int(r[6])) for r in rows]
        if [m.asset_digest for m in members] != list(batch.leaves) \
                or any(len(m.receipt_digest) != 32 for m in members):
            raise OutboxConflict(f"batch {batch_id}: its items do not match its leaves")
        return members

    def members(self, asset_digests: Sequence[bytes]) -> list[BatchMember]:
        """:meth:`batch_members` for assets given by digest (in that order), e.g. pinned
        items about to form a batch.

        Raises:
            OutboxConflict: an asset is not in the outbox or has no receipt digest yet.
        """
        digests = [_digest(d) for d in asset_digests]
        found: dict[bytes, BatchMember] = {}
        for start in range(0, len(digests), 500):
            chunk = digests[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for r in self._db.execute(
                    "SELECT asset_digest, receipt_digest, asset_cid, receipt_cid, "
                    "json_extract(payload, '$.creator'), json_extract(payload, '$.energy_mj'), "
                    f"json_extract(payload, '$.gross_mg') FROM items WHERE asset_digest IN "
                    f"({marks})", chunk):
                found[bytes(r[0])] = BatchMember(bytes(r[0]), bytes(r[1] or b""), r[2], r[3],
                                                 r[4], int(r[5] or 0), int(r[6] or 0))
        missing = [d for d in digests if len(found.get(d, _NO_MEMBER).receipt_digest) != 32]
        if missing:
            raise OutboxConflict(f"asset {missing[0].hex()}: is not in the outbox with a "
                                 "receipt digest")
        return [found[d] for d in digests]

    def waiting_for_batch(self, limit: int, now: float | None = None,
                          ) -> list[tuple[bytes, float, int, int]]:
        """Pinned items not yet in a batch and due, oldest first, as light tuples.

        Each is ``(asset_digest, created_at, credit_batch, ratio_bps)``: what forming a
        batch needs, without decoding whole rows.
        """
        if limit < 1:
            raise InputError("limit", f"must be >= 1, got {limit}")
        rows = self._db.execute(
            "SELECT asset_digest, created_at, json_extract(payload, '$.credit_batch'), "
            "json_extract(payload, '$.ratio_bps') FROM items WHERE state = 'pinned' AND "
            "batch_id IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, created_at "
            "LIMIT ?", (self._now(now), limit)).fetchall()
        return [(bytes(r[0]), float(r[1]), int(r[2]), int(r[3])) for r in rows]

    def find(self, asset_digest: bytes) -> Item | None:
        """The row for ``asset_digest``, or ``None``."""
        try:
            return self.get(asset_digest)
        except OutboxConflict:
            return None

    def find_many(self, asset_digests: Sequence[bytes], *, receipts: bool = True,
                  ) -> dict[bytes, Item]:
        """The rows for ``asset_digests`` that exist, by digest (queried in chunks of 500).

        :meth:`find` for many assets at a fraction of the cost of one query each.
        ``receipts=False`` leaves every ``receipt_bytes`` None instead of reading them (for
        status and results, which do not show them).
        """
        digests = [_digest(d) for d in asset_digests]
        select = _SELECT_ITEMS if receipts else \
            "SELECT items.*, NULL AS receipt_bytes FROM items"
        found: dict[bytes, Item] = {}
        for start in range(0, len(digests), 500):
            chunk = digests[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self._db.execute(f"{select} WHERE asset_digest IN ({marks})", chunk):
                item = self._item(row)
                found[item.asset_digest] = item
        return found

    def due(self, state: State, limit: int = 100, now: float | None = None, *,
            unbatched: bool = False) -> list[Item]:
        """Up to ``limit`` items in ``state`` whose next attempt is due, oldest due first.

        ``unbatched=True`` keeps only items not yet in a batch (batch mode: pinned items
        waiting for a batch).
        """
        if state not in STATES:
            raise InputError("state", f"must be one of {', '.join(STATES)}, got {state!r}")
        if state == "failed" or state == "confirmed":
            raise InputError("state", f"{state} items are never due")
        if limit < 1:
            raise InputError("limit", f"must be >= 1, got {limit}")
        extra = " AND batch_id IS NULL" if unbatched else ""
        rows = self._db.execute(
            f"{_SELECT_ITEMS} WHERE state = ? AND next_attempt_at <= ?{extra} "
            "ORDER BY next_attempt_at, created_at LIMIT ?",
            (state, self._now(now), limit)).fetchall()
        return [self._item(r) for r in rows]

    def items(self, state: State | None = None) -> list[Item]:
        """All items (or those in ``state``), oldest first."""
        if state is None:
            rows = self._db.execute(f"{_SELECT_ITEMS} ORDER BY created_at").fetchall()
        else:
            rows = self._db.execute(f"{_SELECT_ITEMS} WHERE state = ? ORDER BY created_at",
                                    (state,)).fetchall()
        return [self._item(r) for r in rows]

    def active_count(self) -> int:
        """How many assets are still on their way: ``status().active`` from one index scan."""
        marks = ", ".join("?" for _ in ACTIVE)
        return int(self._db.execute(f"SELECT count(*) FROM items WHERE state IN ({marks})",
                                    ACTIVE).fetchone()[0])

    def status(self) -> OutboxStatus:
        """Counts per item state and batch state, and the oldest active item."""
        counts: dict[str, int] = dict.fromkeys(STATES, 0)
        for state, n in self._db.execute("SELECT state, count(*) FROM items GROUP BY state"):
            counts[state] = n
        batch_counts: dict[str, int] = dict.fromkeys(BATCH_STATES, 0)
        for state, n in self._db.execute("SELECT state, count(*) FROM batches GROUP BY state"):
            batch_counts[state] = n
        marks = ", ".join("?" for _ in ACTIVE)
        row = self._db.execute(f"{_SELECT_ITEMS} WHERE state IN ({marks}) "
                               "ORDER BY created_at LIMIT 1", ACTIVE).fetchone()
        unbatched = self._db.execute("SELECT count(*) FROM items WHERE state = 'pinned' AND "
                                     "batch_id IS NULL").fetchone()[0]
        return OutboxStatus(counts=counts, batch_counts=batch_counts,
                            oldest_pending=None if row is None else self._item(row),
                            unbatched_pinned=unbatched)

    # -- batches ---------------------------------------------------------------------------

    @_waits_for_space
    def create_batch(self, asset_digests: Sequence[bytes], *, now: float | None = None) -> Batch:
        """Group pinned, unbatched items into a new ``open`` batch; leaf i = digests[i].

        Raises:
            OutboxConflict: an item is missing, not pinned, or already in a batch; nothing
                is changed then.
        """
        digests = self._leaves(asset_digests)
        with self._tx() as db:
            batch_id = self._insert_batch(db, digests, self._now(now))
        return self.get_batch(batch_id)

    @_waits_for_space
    def create_signed_batch(self, asset_digests: Sequence[bytes], *, root: bytes,
                            report: Mapping[str, Any], signatures: Sequence[bytes],
                            proofs: Mapping[bytes, Sequence[bytes]],
                            now: float | None = None) -> Batch:
        """:meth:`create_batch` and :meth:`sign_batch` in one transaction.

        Signing has no outside side effect, so the batch can be formed, its tree built and
        its report signed in memory first, and all of it committed at once: the batch row
        is written ``signed``, and each item moves pinned → signed with its batch, leaf
        index and proof in one row update.

        Raises:
            OutboxConflict: an item is missing, not pinned, or already in a batch; nothing
                is changed then.
        """
        digests = self._leaves(asset_digests)
        values, _, _, _, per_item = self._sign_args(digests, root, report, signatures, proofs)
        at = self._now(now)
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO batches (state, leaves, size, root, report, signatures, "
                "created_at, updated_at, next_attempt_at) "
                "VALUES ('signed', ?, ?, ?, ?, ?, ?, ?, ?)",
                (_hex_list(digests), len(digests), values["root"], values["report"],
                 values["signatures"], at, at, at))
            batch_id = int(cursor.lastrowid or 0)
            before = db.total_changes
            db.executemany(
                "UPDATE items SET state = 'signed', batch_id = ?, leaf_index = ?, proof = ?, "
                "updated_at = ?, attempts = 0, next_attempt_at = ?, last_error = NULL "
                "WHERE asset_digest = ? AND state = 'pinned' AND batch_id IS NULL",
                [(batch_id, index, per_item[digest]["proof"], at, at, digest)
                 for index, digest in enumerate(digests)])
            if db.total_changes - before != len(digests):
                raise self._batch_conflict(db, digests, batch_id, ("pinned",),
                                           f"batch {batch_id}", unbatched=True)
        return self.get_batch(batch_id)

    @staticmethod
    def _leaves(asset_digests: Sequence[bytes]) -> list[bytes]:
        digests = [_digest(d) for d in asset_digests]
        if not digests:
            raise InputError("asset_digests", "a batch needs at least one asset")
        if len(set(digests)) != len(digests):
            raise InputError("asset_digests", "an asset appears twice in the batch")
        return digests

    def _insert_batch(self, db: sqlite3.Connection, digests: list[bytes], at: float) -> int:
        cursor = db.execute(
            "INSERT INTO batches (state, leaves, size, created_at, updated_at, "
            "next_attempt_at) VALUES ('open', ?, ?, ?, ?, ?)",
            (_hex_list(digests), len(digests), at, at, at))
        batch_id = int(cursor.lastrowid or 0)
        before = db.total_changes
        db.executemany(
            "UPDATE items SET batch_id = ?, leaf_index = ?, updated_at = ? "
            "WHERE asset_digest = ? AND state = 'pinned' AND batch_id IS NULL",
            [(batch_id, index, at, digest) for index, digest in enumerate(digests)])
        if db.total_changes - before != len(digests):
            raise self._batch_conflict(db, digests, batch_id, ("pinned",), f"batch {batch_id}",
                                       unbatched=True)
        return batch_id

    def _batch_conflict(self, db: sqlite3.Connection, digests: Sequence[bytes],
                        batch_id: int, expected: Sequence[State], to: str, *,
                        unbatched: bool = False) -> OutboxConflict:
        """Name the first asset that stopped a batch-wide transition (rolled back)."""
        for digest in digests:
            row = db.execute("SELECT state, batch_id FROM items WHERE asset_digest = ?",
                             (digest,)).fetchone()
            if row is None or row[0] not in expected:
                return self._conflict(db, digest, expected, to)
            if unbatched and row[1] not in (None, batch_id):
                return OutboxConflict(f"asset {digest.hex()}: cannot join batch {batch_id}: "
                                      f"it is already in batch {row[1]}")
        return OutboxConflict(f"batch {batch_id}: its items changed under a transition to {to}")

    def _move_batch(self, batch_id: int, expected: Sequence[BatchState], to: BatchState,
                    values: Mapping[str, Any], item_from: Sequence[State], item_to: State,
                    item_values: Mapping[str, Any], now: float | None, *,
                    per_item: Mapping[bytes, Mapping[str, Any]] | None = None,
                    record_from: bool = False) -> Batch:
        """Compare-and-set a batch and all its items in one transaction (set-based)."""
        at = self._now(now)
        with self._tx() as db:
            self._move_batch_in(db, batch_id, expected, to, values, item_from, item_to,
                                item_values, per_item, at, record_from=record_from)
        return self.get_batch(batch_id)

    def _move_batch_in(self, db: sqlite3.Connection, batch_id: int,
                       expected: Sequence[BatchState], to: BatchState,
                       values: Mapping[str, Any], item_from: Sequence[State], item_to: State,
                       item_values: Mapping[str, Any],
                       per_item: Mapping[bytes, Mapping[str, Any]] | None, at: float, *,
                       record_from: bool = False) -> None:
        """The body of :meth:`_move_batch`, inside the caller's transaction.

        ``item_values`` go to every item; ``per_item`` holds columns that differ per asset
        (proofs); ``record_from`` stores each item's previous state in ``failed_from``.
        """
        columns = {"state": to, "updated_at": at, "attempts": 0, "next_attempt_at": at,
                   "last_error": None, **values}
        marks = ", ".join("?" for _ in expected)
        item_marks = ", ".join("?" for _ in item_from)
        cursor = db.execute(
            f"UPDATE batches SET {', '.join(f'{c} = ?' for c in columns)} "
            f"WHERE batch_id = ? AND state IN ({marks})",
            (*columns.values(), batch_id, *expected))
        if cursor.rowcount != 1:
            row = db.execute("SELECT state FROM batches WHERE batch_id = ?",
                             (batch_id,)).fetchone()
            where = "does not exist" if row is None else f"is {row[0]}"
            raise OutboxConflict(f"batch {batch_id}: cannot move to {to}: expected "
                                 f"{'/'.join(expected)}, but it {where}")
        leaves_text, size = db.execute("SELECT leaves, size FROM batches WHERE batch_id = ?",
                                       (batch_id,)).fetchone()
        if per_item:
            names = sorted(next(iter(per_item.values())))
            before = db.total_changes
            db.executemany(
                f"UPDATE items SET {', '.join(f'{c} = ?' for c in names)} WHERE "
                f"asset_digest = ? AND batch_id = ? AND state IN ({item_marks})",
                [(*(v[c] for c in names), d, batch_id, *item_from)
                 for d, v in per_item.items()])
            if db.total_changes - before != size:
                raise self._batch_conflict(db, _from_hex_list(leaves_text), batch_id,
                                           item_from, item_to)
        cols = {"updated_at": at, "attempts": 0, "next_attempt_at": at, "last_error": None,
                **item_values}
        sets = ", ".join(f"{c} = ?" for c in cols)
        moved = db.execute(
            f"UPDATE items SET {'failed_from = state, ' if record_from else ''}"
            f"state = ?, {sets} WHERE batch_id = ? AND state IN ({item_marks})",
            (item_to, *cols.values(), batch_id, *item_from))
        if moved.rowcount != size:
            raise self._batch_conflict(db, _from_hex_list(leaves_text), batch_id,
                                       item_from, item_to)

    @_waits_for_space
    def sign_batch(self, batch_id: int, *, root: bytes, report: Mapping[str, Any],
                   signatures: Sequence[bytes], proofs: Mapping[bytes, Sequence[bytes]],
                   now: float | None = None) -> Batch:
        """open → signed: store the Merkle root, signed report, and each item's proof.

        Every item of the batch moves pinned → signed in the same transaction. Items keep
        their inclusion proof; the signatures are stored once, on the batch.
        """
        args = self._sign_args(self.get_batch(batch_id).leaves, root, report, signatures,
                               proofs)
        at = self._now(now)
        with self._tx() as db:
            self._move_batch_in(db, batch_id, ("open",), "signed", *args, at)
        return self.get_batch(batch_id)

    @staticmethod
    def _sign_args(leaves: Sequence[bytes], root: bytes, report: Mapping[str, Any],
                   signatures: Sequence[bytes], proofs: Mapping[bytes, Sequence[bytes]]
                   ) -> tuple[dict[str, Any], tuple[State, ...], State, dict[str, Any],
                              dict[bytes, dict[str, Any]]]:
        """Validated arguments for the open → signed move (before any write)."""
        root = _digest(root, "root")
        if not signatures:
            raise InputError("signatures", "must hold at least one signature")
        missing = [d.hex() for d in leaves if d not in proofs]
        if missing:
            raise InputError("proofs", f"no inclusion proof for asset(s) {missing[:3]}")
        values = {"root": root, "report": _to_json(dict(report)),
                  "signatures": _hex_list(signatures)}
        per_item: dict[bytes, dict[str, Any]] = {d: {"proof": _pack_proof(proofs[d])}
                                                 for d in leaves}
        return values, ("pinned",), "signed", {}, per_item

    @_waits_for_space
    def submit_batch(self, batch_id: int, *, tx_hash: str, now: float | None = None) -> Batch:
        """signed → submitted (or a new hash while submitted), items alike."""
        tx = _tx(tx_hash)
        return self._move_batch(batch_id, ("signed", "submitted"), "submitted", {"tx_hash": tx},
                                ("signed", "submitted"), "submitted", {"tx_hash": tx}, now)

    @_waits_for_space
    def confirm_batch(self, batch_id: int, *, token_id: int, tx_hash: str | None = None,
                      now: float | None = None) -> Batch:
        """submitted → confirmed (or signed → confirmed with the ``tx_hash`` found on chain).

        ``token_id`` is the batch's receipt token; every item records it.
        """
        values: dict[str, Any] = {"token_id": _token(token_id)}
        expected: tuple[BatchState, ...] = ("submitted",)
        item_from: tuple[State, ...] = ("submitted",)
        if tx_hash is not None:
            values["tx_hash"] = _tx(tx_hash)
            expected, item_from = ("signed", "submitted"), ("signed", "submitted")
        return self._move_batch(batch_id, expected, "confirmed", values, item_from, "confirmed",
                                values, now)

    @_waits_for_space
    def fail_batch(self, batch_id: int, *, error_name: str, error_args: Sequence[Any] = (),
                   now: float | None = None) -> Batch:
        """Any active batch state → failed, with its items (permanent error)."""
        batch = self.get_batch(batch_id)
        args = json.dumps(_jsonable(list(error_args)))
        return self._move_batch(
            batch_id, (batch.state,) if batch.state not in ("confirmed", "failed") else ("open",),
            "failed", {"failed_from": batch.state, "error_name": error_name,
                       "error_args": args},
            ACTIVE, "failed", {"error_name": error_name, "error_args": args}, now,
            record_from=True)

    @_waits_for_space
    def retry_batch_later(self, batch_id: int, error: str, *, now: float | None = None) -> Batch:
        """Record a transient error for a batch: back off (its items keep their state)."""
        at = self._now(now)
        with self._tx() as db:
            row = db.execute("SELECT state, attempts FROM batches WHERE batch_id = ?",
                             (batch_id,)).fetchone()
            if row is None or row[0] in ("confirmed", "failed"):
                raise OutboxConflict(f"batch {batch_id}: cannot retry: it "
                                     f"{'does not exist' if row is None else 'is ' + row[0]}")
            attempts = row[1] + 1
            db.execute("UPDATE batches SET attempts = ?, next_attempt_at = ?, last_error = ?, "
                       "updated_at = ? WHERE batch_id = ?",
                       (attempts, at + self.policy.delay_s(attempts, self._rng), error, at,
                        batch_id))
        batch = self.get_batch(batch_id)
        if batch.attempts >= self.policy.max_attempts:
            return self.fail_batch(batch_id, error_name="RetriesExhausted",
                                   error_args=(batch.attempts, error), now=at)
        return batch

    def get_batch(self, batch_id: int) -> Batch:
        """The batch row.

        Raises:
            OutboxConflict: no such batch.
        """
        row = self._db.execute("SELECT * FROM batches WHERE batch_id = ?",
                               (batch_id,)).fetchone()
        if row is None:
            raise OutboxConflict(f"batch {batch_id}: does not exist")
        return self._batch(row)

    def due_batches(self, state: BatchState, limit: int = 100,
                    now: float | None = None) -> list[Batch]:
        """Up to ``limit`` batches in ``state`` whose next attempt is due."""
        if state not in BATCH_STATES or state in ("confirmed", "failed"):
            raise InputError("state", f"must be one of open, signed, submitted, got {state!r}")
        rows = self._db.execute(
            "SELECT * FROM batches WHERE state = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, batch_id LIMIT ?",
            (state, self._now(now), limit)).fetchall()
        return [self._batch(r) for r in rows]

    # -- row decoding ----------------------------------------------------------------------

    @staticmethod
    def _item(row: sqlite3.Row) -> Item:
        data = dict(row)
        return Item(
            asset_digest=bytes(data["asset_digest"]), state=data["state"],
            payload=json.loads(data["payload"]), created_at=data["created_at"],
            updated_at=data["updated_at"], attempts=data["attempts"],
            next_attempt_at=data["next_attempt_at"], last_error=data["last_error"],
            asset_cid=data["asset_cid"], receipt_cid=data["receipt_cid"],
            receipt_digest=None if data["receipt_digest"] is None
            else bytes(data["receipt_digest"]),
            receipt_bytes=None if data["receipt_bytes"] is None else bytes(data["receipt_bytes"]),
            receipt_path=data["receipt_path"],
            report=None if data["report"] is None else json.loads(data["report"]),
            signatures=_from_hex_list(data["signatures"]), tx_hash=data["tx_hash"],
            token_id=None if data["token_id"] is None else int(data["token_id"]),
            batch_id=data["batch_id"], leaf_index=data["leaf_index"],
            proof=_unpack_proof(data["proof"]), failed_from=data["failed_from"],
            error_name=data["error_name"],
            error_args=tuple(json.loads(data["error_args"])) if data["error_args"] else ())

    @staticmethod
    def _batch(row: sqlite3.Row) -> Batch:
        data = dict(row)
        return Batch(
            batch_id=data["batch_id"], state=data["state"],
            leaves=_from_hex_list(data["leaves"]), created_at=data["created_at"],
            updated_at=data["updated_at"], attempts=data["attempts"],
            next_attempt_at=data["next_attempt_at"],
            root=None if data["root"] is None else bytes(data["root"]),
            report=None if data["report"] is None else json.loads(data["report"]),
            signatures=_from_hex_list(data["signatures"]), tx_hash=data["tx_hash"],
            token_id=None if data["token_id"] is None else int(data["token_id"]),
            last_error=data["last_error"], failed_from=data["failed_from"],
            error_name=data["error_name"],
            error_args=tuple(json.loads(data["error_args"])) if data["error_args"] else ())
