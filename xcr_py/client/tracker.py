"""The tracker a render pipeline calls: one energy window per generation, the rest off-thread.

::

    tracker = Tracker(config)                       # or Tracker(config, gateway=..., ...)
    with tracker.track(model="sdxl", campaign="spring", media_type="image/png") as t:
        t.set_asset(render())                       # bytes or a path
    tracker.record(cloud_window(estimate, key="req-1"), image, model="acme-img")  # cloud API
    tracker.flush()                                 # settle everything; raises on failures

The render's critical path pays for opening and closing the meter window and one queue put.
A preparing thread does the rest in order: content-address and pin the asset, footprint,
receipt build and pin, outbox enqueue (grouped: one transaction per group of jobs). A settling
thread (:class:`~xcr_py.client.settle.Settler`, its own outbox connection) takes the rows from
there to the chain, so preparing the next assets overlaps the chain's round trips; the two
share the chain connection under one lock. Worker errors are never swallowed: a permanent one
is a ``failed`` outbox row with its reason, and :meth:`Tracker.flush` / :meth:`Tracker.results`
report it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import mimetypes
import os
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec

from eth_utils import is_hex_address, to_checksum_address

from xcr_py.chain.gateway import XcrGateway
from xcr_py.client.credit import CreditSelector, NoEligibleCredits
from xcr_py.client.prepare import AssetJob, FootprintSettings, Prepared, Preparer
from xcr_py.client.settle import Settler, classify
from xcr_py.client.wiring import default_meter, open_gateway, open_outbox
from xcr_py.config import XcrConfig
from xcr_py.content.cid import bytes_cid, file_cid
from xcr_py.content.factory import open_store
from xcr_py.content.store import BlockStore
from xcr_py.errors import ChainError, ContractRevert, InputError, OracleError, StoreUnavailable
from xcr_py.footprint import IntensityProvider
from xcr_py.meter import Meter, split_batch
from xcr_py.meter.window import EnergyWindow
from xcr_py.oracle.keys import OracleQuorum, load_quorum
from xcr_py.oracle.outbox import Item, Outbox

__all__ = ["AssetResult", "BatchHandle", "TrackHandle", "Tracker", "TrackingFailed"]

P = ParamSpec("P")
AssetLike = bytes | bytearray | memoryview | str | os.PathLike[str]

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
          (b"GIF8", "image/gif"), (b"RIFF", "audio/wav"), (b"ID3", "audio/mpeg"))
_GROUP = 256  # jobs per outbox transaction


class TrackingFailed(OracleError):
    """Some tracked assets failed (or did not settle in time); ``results`` has every asset."""

    def __init__(self, message: str, results: Sequence[AssetResult]) -> None:
        super().__init__(message)
        self.results = list(results)

    @property
    def failures(self) -> list[AssetResult]:
        """The results that did not end ``confirmed``."""
        return [r for r in self.results if r.state != "confirmed"]


@dataclass(frozen=True)
class AssetResult:
    """Where one tracked asset stands. Units: energy mJ, emissions and removal mg.

    ``state`` is an outbox state (``pending`` ... ``confirmed``, ``failed``), or ``"rejected"``
    when the asset never reached the outbox (e.g. its file vanished); ``error`` says why.
    """

    key: str
    state: str
    asset_digest: str | None = None
    asset_cid: str | None = None
    receipt_cid: str | None = None
    token_id: int | None = None
    tx_hash: str | None = None
    batch_id: int | None = None
    proof: tuple[str, ...] = ()
    energy_mj: int | None = None
    gross_mg: int | None = None
    required_mg: int | None = None
    energy_method: str | None = None
    error: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_item(cls, key: str, item: Item) -> AssetResult:
        """From an outbox row."""
        p = item.payload
        error = None
        if item.state == "failed":
            error = f"{item.error_name}{tuple(item.error_args)!r}"
        elif item.last_error:
            error = f"retrying after: {item.last_error}"
        return cls(key=key, state=item.state, asset_digest=item.asset_digest.hex(),
                   asset_cid=item.asset_cid or p.get("asset_cid"),
                   receipt_cid=item.receipt_cid or p.get("receipt_cid"),
                   token_id=item.token_id, tx_hash=item.tx_hash, batch_id=item.batch_id,
                   proof=tuple("0x" + h.hex() for h in item.proof),
                   energy_mj=p.get("energy_mj"), gross_mg=p.get("gross_mg"),
                   required_mg=p.get("required_mg"), energy_method=p.get("energy_method"),
                   error=error, payload=p)


def _media_type(asset: bytes | Path | None) -> str:
    if isinstance(asset, Path):
        guessed, _ = mimetypes.guess_type(asset.name)
        return guessed or "application/octet-stream"
    if asset is not None:
        for magic, kind in _MAGIC:
            if asset.startswith(magic):
                return kind
    return "application/octet-stream"


def _normalise_asset(asset: AssetLike, name: str = "asset") -> bytes | Path:
    if isinstance(asset, bytes | bytearray | memoryview):
        return bytes(asset)
    if isinstance(asset, str | os.PathLike):
        path = Path(asset)
        if not path.is_file():
            raise InputError(name, f"must be bytes or a readable file, got {str(path)!r}")
        return path
    raise InputError(name, f"must be bytes or a path, got {type(asset).__name__}")


class TrackHandle:
    """What ``with tracker.track(...) as t`` yields: name the asset with :meth:`set_asset`."""

    def __init__(self, key: str, asset: bytes | Path | None) -> None:
        self.key = key
        self._asset = asset
        self.window: EnergyWindow | None = None
        """The closed energy window (set on exit)."""

    def set_asset(self, asset: AssetLike) -> None:
        """The generated asset: bytes, or a path to the written file.

        Raises:
            InputError: not bytes and not an existing regular file.
        """
        self._asset = _normalise_asset(asset)

    @property
    def asset(self) -> bytes | Path | None:
        """The asset named so far."""
        return self._asset


class BatchHandle:
    """What ``with tracker.track_batch(...) as b`` yields: name the N assets of one window."""

    def __init__(self, key: str, assets: list[bytes | Path] | None,
                 weights: list[int] | None) -> None:
        self.key = key
        self._assets = assets
        self._weights = weights
        self.windows: list[EnergyWindow] = []
        """Per-asset windows, split from the batch window by weight (set on exit)."""

    def set_assets(self, assets: Sequence[AssetLike], weights: Sequence[int] | None = None,
                   ) -> None:
        """The batch's assets (and optionally their weights, default: equal)."""
        self._assets = [_normalise_asset(a, f"assets[{i}]") for i, a in enumerate(assets)]
        if weights is not None:
            self._weights = list(weights)

    @property
    def assets(self) -> list[bytes | Path]:
        """The assets named so far."""
        return list(self._assets or [])


@dataclass
class _Flush:
    force: bool
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    still_active: int = 0


_STOP = object()


@dataclass
class _Retry:
    """A job whose preparation met a transient error, waiting to be tried again."""

    job: AssetJob
    attempts: int
    due_at: float  # time.monotonic()
    error: str


def _transient_in_prepare(exc: Exception) -> bool:
    """Errors worth preparing again later: the store or the chain connection was away.

    Narrower than the settler's :func:`classify`: anything else (bad input, no eligible
    credits, a revert, a bug) fails the asset at once, so the operator sees it.
    """
    if isinstance(exc, NoEligibleCredits | ContractRevert):
        return False
    return isinstance(exc, StoreUnavailable | ConnectionError | TimeoutError) \
        or type(exc) is ChainError


class Tracker:
    """Meter, pin, receipt and settle generated assets.

    Args:
        config: the configuration (read once at the edge, e.g. :func:`~xcr_py.config.load_config`).
        meter: energy meter (default: NVML/RAPL, else a declared 300 W estimate).
        store: block store (default: ``[store]``).
        gateway: deployment and submitting key (default: ``[chain]``, see
            :func:`~xcr_py.client.wiring.open_gateway`).
        quorum: oracle signers (default: ``[oracle]`` keys from ``env``).
        outbox: durable outbox (default: ``<chain.data_dir>/outbox.sqlite``).
        intensity: grid-intensity provider (default from ``[footprint]``).
        credit_batch: use only this credit batch (default: the first eligible one on chain).
        creator: default receipt owner (default: the submitting account).
        env: environment mapping for key variables (default: ``os.environ``, at this edge).
        settle: run settlement on the worker (``False``: only prepare and enqueue).
        poll_s: worker idle poll interval while rows wait (batch delay, backoff).
    """

    def __init__(self, config: XcrConfig, *, meter: Meter | None = None,
                 store: BlockStore | None = None, gateway: XcrGateway | None = None,
                 quorum: OracleQuorum | None = None, outbox: Outbox | None = None,
                 intensity: IntensityProvider | None = None, credit_batch: int | None = None,
                 creator: str | None = None, env: Mapping[str, str] | None = None,
                 settle: bool = True, poll_s: float = 0.05) -> None:
        env = os.environ if env is None else env
        self.config = config
        self._owned: list[Callable[[], None]] = []
        try:
            if gateway is None:
                gateway, release = open_gateway(config, env)
                self._owned.append(release)
            if quorum is None:
                quorum = load_quorum(config.oracle, env, prompt=None)
            if outbox is None:
                outbox = open_outbox(config)
                self._owned.append(outbox.close)
            if store is None:
                store = open_store(config)
            if meter is None:
                meter = default_meter()
                self._owned.append(meter.close)
            self.gateway, self.quorum, self.outbox, self.store, self.meter = (
                gateway, quorum, outbox, store, meter)
            self.creator = self._address(creator or gateway.sender.address, "creator")
            policy_ratio = int(gateway.policy()[0])
            # The preparing thread reads credit batches, the settling thread sends: one
            # connection, one lock (py-evm is not thread-safe).
            chain_lock = threading.RLock()
            self.credits = CreditSelector(gateway, credit_batch, chain_lock=chain_lock)
            self.preparer = Preparer(store, FootprintSettings.from_config(
                config.footprint, policy_ratio_bps=policy_ratio, intensity=intensity),
                self.credits, quorum.addresses, quorum.threshold)
            self.settler = Settler(outbox, gateway, quorum, store, mode=config.mode.kind,
                                   batch_size=config.mode.batch_size,
                                   max_delay_s=config.mode.max_delay_s, chain_lock=chain_lock)
            # The preparing thread writes through its own connection (SQLite serialises it
            # with the settler's writes; neither waits on the other's reads).
            self._writer = outbox.sibling()
            self._owned.append(self._writer.close)
        except BaseException:  # release what was opened here before re-raising
            for closer in reversed(self._owned):
                closer()
            raise
        self._settle = settle
        self._poll_s = poll_s
        self._counter = itertools.count(1)
        self._keys: dict[str, bytes | None] = {}
        self._rejected: dict[str, str] = {}
        self._reported: set[str] = set()
        self._queue: queue.Queue[object] = queue.Queue()
        self._reader: Outbox | None = None
        self._closed = False
        self._worker_error: BaseException | None = None
        # Hand-off to the settling thread: a wake-up when rows were written, flush requests.
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._flushes: list[_Flush] = []
        self._flush_lock = threading.Lock()
        self._settler_dead = False
        # Jobs met by a transient store/chain error, retried with the outbox's backoff, and
        # flushes held until those retries end (preparing thread only).
        self._retrying: list[_Retry] = []
        self._attempts: dict[str, int] = {}  # key -> transient failures so far
        self._retry_rng = random.Random()
        self._held: list[_Flush] = []
        self._worker = threading.Thread(target=self._run, name="xcr-tracker", daemon=True)
        self._settling = threading.Thread(target=self._run_settler, name="xcr-settler",
                                          daemon=True) if settle else None
        self._worker.start()
        if self._settling is not None:
            self._settling.start()

    # -- public API ------------------------------------------------------------------------

    @staticmethod
    def _address(value: str, name: str) -> str:
        if not isinstance(value, str) or not is_hex_address(value):
            raise InputError(name, f"must be a 20-byte hex address, got {value!r}")
        return to_checksum_address(value)

    def _check_open(self) -> None:
        if self._closed:
            raise OracleError("tracker is closed")
        if self._worker_error is not None:
            raise OracleError(f"tracker worker stopped: {self._worker_error!r}")

    def _new_key(self, model: str) -> str:
        return f"{model}#{next(self._counter)}@{id(self):x}"

    @contextmanager
    def track(self, asset: AssetLike | None = None, *, model: str, campaign: str | None = None,
              media_type: str | None = None, creator: str | None = None,
              params: Mapping[str, Any] | None = None) -> Iterator[TrackHandle]:
        """Meter one generation; on exit the asset is handed to the worker.

        The body may call ``t.set_asset(...)``. If the body raises, nothing is tracked.

        Raises:
            InputError: no asset named by the end of the block, or a bad creator / asset.
        """
        self._check_open()
        if not model:
            raise InputError("model", "must be a non-empty string")
        owner = self._address(creator, "creator") if creator else self.creator
        handle = TrackHandle(self._new_key(model),
                             None if asset is None else _normalise_asset(asset))
        with self.meter.window(handle.key) as w:
            yield handle
        handle.window = w.result
        if handle.asset is None:
            raise InputError("asset", "no asset: pass asset= or call t.set_asset() in the block")
        self._submit([AssetJob(handle.key, w.result, handle.asset, model,
                               media_type or _media_type(handle.asset), owner, campaign,
                               dict(params or {}))])

    @contextmanager
    def track_batch(self, assets: Sequence[AssetLike] | None = None,
                    weights: Sequence[int] | None = None, *, model: str,
                    campaign: str | None = None, media_type: str | None = None,
                    creator: str | None = None, params: Mapping[str, Any] | None = None,
                    ) -> Iterator[BatchHandle]:
        """One window for N assets, split among them by integer ``weights`` (default equal).

        Raises:
            InputError: no assets, or weights that do not match them (nothing is tracked).
        """
        self._check_open()
        if not model:
            raise InputError("model", "must be a non-empty string")
        owner = self._address(creator, "creator") if creator else self.creator
        handle = BatchHandle(self._new_key(model), None, list(weights) if weights else None)
        if assets is not None:
            handle.set_assets(assets, weights)
        with self.meter.window(handle.key) as w:
            yield handle
        items = handle.assets
        if not items:
            raise InputError("assets", "no assets: pass assets= or call b.set_assets()")
        shares = handle._weights or [1] * len(items)
        if len(shares) != len(items):
            raise InputError("weights", f"must have one weight per asset ({len(items)}), got "
                             f"{len(shares)}")
        keys = {f"{handle.key}/{i}": weight for i, weight in enumerate(shares)}
        handle.windows = split_batch(w.result, keys)
        self._submit([AssetJob(part.key, part, asset, model,
                               media_type or _media_type(asset), owner, campaign,
                               dict(params or {}))
                      for part, asset in zip(handle.windows, items, strict=True)])

    def record(self, window: EnergyWindow, asset: AssetLike, *, model: str,
               campaign: str | None = None, media_type: str | None = None,
               creator: str | None = None, params: Mapping[str, Any] | None = None) -> str:
        """Queue an asset whose energy window was made elsewhere, e.g. a cloud-API generation.

        Nothing is metered here: ``window`` is used as given, for instance
        ``cloud_window(estimate_cloud_request(...), key=...)`` from :mod:`xcr_py.cloud`, whose
        receipt then says ``energy.method = "estimated (published benchmark)"``. The rest
        (pin, receipt, outbox, settlement) is what :meth:`track` does.

        Returns:
            The tracking key (``AssetResult.key``).

        Raises:
            InputError: ``window`` is not an :class:`EnergyWindow`, an empty ``model``, or a
                bad creator / asset (nothing is queued).
        """
        self._check_open()
        if not isinstance(window, EnergyWindow):
            raise InputError("window", f"must be an EnergyWindow (e.g. xcr_py.cloud.cloud_window"
                             f"), got {type(window).__name__}")
        if not model:
            raise InputError("model", "must be a non-empty string")
        owner = self._address(creator, "creator") if creator else self.creator
        item = _normalise_asset(asset)
        key = self._new_key(model)
        self._submit([AssetJob(key, window, item, model, media_type or _media_type(item), owner,
                               campaign, dict(params or {}))])
        return key

    def tracked(self, *, model: str, campaign: str | None = None, media_type: str | None = None,
                creator: str | None = None, params: Mapping[str, Any] | None = None,
                ) -> Callable[[Callable[P, AssetLike]], Callable[P, AssetLike]]:
        """Decorator: meter each call of a function returning the asset (bytes or a path)."""
        def wrap(fn: Callable[P, AssetLike]) -> Callable[P, AssetLike]:
            @functools.wraps(fn)
            def inner(*args: P.args, **kwargs: P.kwargs) -> AssetLike:
                with self.track(model=model, campaign=campaign, media_type=media_type,
                                creator=creator, params=params) as t:
                    out = fn(*args, **kwargs)
                    t.set_asset(out)
                return out
            return inner
        return wrap

    def flush(self, timeout: float = 120.0, *, raise_on_failure: bool = True,
              ) -> list[AssetResult]:
        """Wait until every tracked asset is pinned and settled (partial batches included).

        Returns:
            The results of the assets tracked since the previous flush.

        Raises:
            TrackingFailed: an asset failed, or some were still settling at ``timeout``.
        """
        self._check_open()
        request = _Flush(force=True, deadline=time.monotonic() + timeout)
        self._queue.put(request)
        if not request.done.wait(timeout + 5.0):
            raise TrackingFailed(f"flush: worker did not answer within {timeout} s",
                                 self._new_results())
        if self._worker_error is not None:
            raise OracleError(f"tracker worker stopped: {self._worker_error!r}")
        results = self._new_results()
        if raise_on_failure:
            bad = [r for r in results if r.state != "confirmed"]
            if bad or request.still_active:
                first = bad[0] if bad else None
                detail = f"; first: {first.key}: {first.state} {first.error or ''}" if first \
                    else ""
                raise TrackingFailed(f"{len(bad)} of {len(results)} assets not confirmed"
                                     f"{detail}", results)
        return results

    def results(self) -> list[AssetResult]:
        """Every asset this tracker was handed, in order, with its current outbox state."""
        return self._results(list(self._keys))

    def close(self, *, flush: bool = True, timeout: float = 120.0) -> None:
        """Flush (unless ``flush=False``), stop the worker and close the parts it opened."""
        if self._closed:
            return
        try:
            if flush and self._worker_error is None:
                self.flush(timeout)
        finally:
            self._closed = True
            self._queue.put(_STOP)
            self._worker.join(timeout=30)
            self._stopping.set()
            self._wake.set()
            if self._settling is not None:
                self._settling.join(timeout=30)
            if self._reader is not None:
                self._reader.close()
            for closer in reversed(self._owned):
                closer()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.close(flush=exc_type is None)

    # -- results ---------------------------------------------------------------------------

    def _read(self) -> Outbox:
        if self._reader is None:  # a second connection: WAL lets it read while the worker writes
            self._reader = Outbox(self.outbox.path)
        return self._reader

    def _results(self, keys: list[str]) -> list[AssetResult]:
        """The results of ``keys``, from one outbox read for all of them."""
        digests = {k: self._keys.get(k) for k in keys}
        rows = self._read().find_many([d for d in digests.values() if d is not None],
                                      receipts=False)
        return [self._result(k, digests[k], rows) for k in keys]

    def _result(self, key: str, digest: bytes | None, rows: Mapping[bytes, Item]
                ) -> AssetResult:
        if digest is None:
            if key in self._rejected:
                return AssetResult(key=key, state="rejected", error=self._rejected[key])
            retry = next((r for r in list(self._retrying) if r.job.key == key), None)
            return AssetResult(key=key, state="queued",
                               error=f"retrying after: {retry.error}" if retry else None)
        item = rows.get(digest)
        if item is None:
            return AssetResult(key=key, state="queued", asset_digest=digest.hex())
        return AssetResult.from_item(key, item)

    def _new_results(self) -> list[AssetResult]:
        keys = [k for k in list(self._keys) if k not in self._reported]
        self._reported.update(keys)
        return self._results(keys)

    # -- worker ----------------------------------------------------------------------------

    def _submit(self, jobs: list[AssetJob]) -> None:
        for job in jobs:
            self._keys[job.key] = None
        for job in jobs:
            self._queue.put(job)

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # recorded; flush() and later calls raise it
            self._worker_error = exc
            for request in self._held:
                request.done.set()
            while True:  # release any waiting flush
                try:
                    msg = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(msg, _Flush):
                    msg.done.set()

    def _loop(self) -> None:
        """The preparing thread: group queued jobs, prepare and enqueue them, pass flushes on.

        Jobs whose preparation met a transient error are tried again after the outbox's
        backoff; a flush is passed on only once every job before it is written or has
        failed for good (or at the flush's deadline).
        """
        while True:
            messages: list[object] = []
            with contextlib.suppress(queue.Empty):
                messages.append(self._queue.get(timeout=self._next_retry_in()))
            while len(messages) < _GROUP:
                try:
                    messages.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            jobs: list[AssetJob] = self._due_retries()
            for msg in messages:
                if isinstance(msg, AssetJob):
                    jobs.append(msg)
                    continue
                self._write(jobs)
                jobs = []
                if msg is _STOP:
                    return
                if isinstance(msg, _Flush):
                    self._held.append(msg)
            self._write(jobs)
            self._release_flushes()

    def _next_retry_in(self) -> float | None:
        """Seconds until the next retry or held flush's deadline (None: nothing waits)."""
        times = [r.due_at for r in self._retrying] + [f.deadline for f in self._held]
        return max(0.0, min(times) - time.monotonic()) if times else None

    def _due_retries(self) -> list[AssetJob]:
        now = time.monotonic()
        due = [r for r in self._retrying if r.due_at <= now]
        self._retrying = [r for r in self._retrying if r.due_at > now]
        for retry in due:
            self._attempts[retry.job.key] = retry.attempts
        return [r.job for r in due]

    def _release_flushes(self) -> None:
        now = time.monotonic()
        keep: list[_Flush] = []
        for request in self._held:
            if not self._retrying or now >= request.deadline:
                self._hand_flush(request)
            else:
                keep.append(request)
        self._held = keep

    def _hand_flush(self, request: _Flush) -> None:
        """Give a flush (every job before it is written) to the settling thread."""
        with self._flush_lock:
            if self._settling is None or self._settler_dead:
                request.done.set()
                return
            self._flushes.append(request)
        self._wake.set()

    def _run_settler(self) -> None:
        try:
            self._settle_loop()
        except BaseException as exc:  # recorded; flush() and later calls raise it
            self._worker_error = exc
        finally:
            with self._flush_lock:
                self._settler_dead = True
                waiting, self._flushes = self._flushes, []
            for request in waiting:
                request.done.set()

    def _settle_loop(self) -> None:
        """The settling thread: step the settler whenever rows arrive (or every ``poll_s``).

        While flushes wait, partial batches are settled now (``force``); each flush is
        answered once nothing is active in the outbox, or at its deadline.
        """
        while not self._stopping.is_set():
            self._wake.clear()
            with self._flush_lock:
                waiting = list(self._flushes)
            moved = self.settler.step(force=bool(waiting))
            if waiting:
                active = self.outbox.active_count()
                now = time.monotonic()
                done = [r for r in waiting if active == 0 or now >= r.deadline]
                with self._flush_lock:
                    for request in done:
                        self._flushes.remove(request)
                for request in done:
                    request.still_active = active
                    request.done.set()
                if len(done) < len(waiting) and not moved:
                    self._wake.wait(self._poll_s)
                continue
            if not moved:
                self._wake.wait(self._poll_s)

    def _write(self, jobs: list[AssetJob]) -> None:
        """Prepare jobs and write them to the outbox in one group (one transaction)."""
        if not jobs:
            return
        ready: dict[bytes, Prepared] = {}
        try:
            # One durability point for the group's blocks, before the outbox refers to them.
            with self.store.deferred_sync():
                for job in jobs:
                    try:
                        prepared = self.preparer.prepare(job)
                    except Exception as exc:  # retried or recorded; never swallowed
                        self._retry_or_fail(job, exc)
                        continue
                    self._attempts.pop(job.key, None)
                    self._keys[job.key] = prepared.asset_digest
                    # An asset already in the outbox keeps its row (enqueue skips it).
                    ready.setdefault(prepared.asset_digest, prepared)
        except OSError as exc:  # the group's sync failed: its blocks may not be durable
            unsure = {p.key for p in ready.values()}
            for job in jobs:
                if job.key in unsure:
                    self._record_failure(job, exc)
            return
        if not ready:
            return
        # Asset and receipt are already pinned: one commit records the group as pinned (a
        # crash before it leaves no row, and re-pinning is idempotent).
        self._writer.enqueue_pinned_many([p.outbox_entry() for p in ready.values()])
        self._wake.set()

    def _retry_or_fail(self, job: AssetJob, exc: Exception) -> None:
        """Schedule ``job`` again after a transient error, or record it as failed.

        The backoff and the attempt limit are the outbox's :class:`RetryPolicy`; at the
        limit the asset fails as ``RetriesExhausted`` (attempts, last error), like a row
        whose settlement kept failing.
        """
        if not _transient_in_prepare(exc):
            self._attempts.pop(job.key, None)
            self._record_failure(job, exc)
            return
        attempts = self._attempts.pop(job.key, 0) + 1
        _, name, args = classify(exc)
        error = f"{name}: {args[0] if args else ''}"
        policy = self._writer.policy
        if attempts >= policy.max_attempts:
            self._record_failure(job, exc, name="RetriesExhausted", args=(attempts, error))
            return
        delay = policy.delay_s(attempts, self._retry_rng)
        self._retrying.append(_Retry(job, attempts, time.monotonic() + delay, error))

    def _record_failure(self, job: AssetJob, exc: Exception, *, name: str | None = None,
                        args: tuple[Any, ...] | None = None) -> None:
        """A job that could not be prepared: a failed outbox row when its digest is known."""
        if name is None or args is None:
            _, name, args = classify(exc)
        try:
            asset = job.asset
            cid = bytes_cid(asset) if isinstance(asset, bytes) else file_cid(asset)
        except Exception:
            self._rejected[job.key] = f"{name}{args!r}"
            return
        digest = bytes(cid.raw_digest)
        self._keys[job.key] = digest
        # One commit: a pending row would be visible to the settling thread in between.
        self._writer.enqueue_failed(digest, {"key": job.key, "asset_cid": str(cid)},
                                    error_name=name, error_args=args)
