"""KuboStore: a block store behind the Kubo RPC API (Kubo, or js-ipfs in tests), via ipfshttpclient.

* ``ipfshttpclient.connect()`` refuses daemons newer than 0.7 (it checks the version), so the
  client is constructed directly with :class:`ipfshttpclient.Client`.
* Every add sends ``cid-version=1``, ``raw-leaves=true`` and ``cid-base=base32``; the CID the
  daemon answers must equal the one computed locally first (:mod:`xcr_py.content.cid`),
  otherwise the put fails with :class:`~xcr_py.errors.ContentError` and the pin it made is
  removed: a daemon with another chunker or layout can never put a wrong CID in a receipt.
* Reads are re-hashed locally as they stream; a mismatch raises ``BlockCorrupted``.
* A daemon that does not answer raises :class:`~xcr_py.errors.StoreUnavailable` naming its
  address; every call has a timeout (``timeout_s``).
* A daemon that refuses connections (restarting, briefly down) is retried with backoff for up
  to ``retry_s`` (default ``timeout_s``) before ``StoreUnavailable``: to the caller a restart
  looks like a slow answer. Every retried call is idempotent (content-addressed add, pin).
"""

from __future__ import annotations

import contextlib
import io
import re
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import ipfshttpclient
from ipfshttpclient import exceptions as ipfs_exc
from multiformats import CID

from xcr_py.content.cid import bytes_cid, cid_from_binary, file_cid, parse_cid
from xcr_py.content.store import BlockStore, CidLike
from xcr_py.content.unixfs import CHUNK_SIZE, FileDagBuilder
from xcr_py.errors import BlockCorrupted, ContentError, InputError, StoreUnavailable

__all__ = ["DEFAULT_KUBO_ADDR", "KuboStore", "to_multiaddr"]

DEFAULT_KUBO_ADDR = "/ip4/127.0.0.1/tcp/5001/http"
_T = TypeVar("_T")
_ADD_OPTS = {"cid-base": "base32"}


def to_multiaddr(addr: str) -> str:
    """Turn ``http(s)://host:port`` into the multiaddr ipfshttpclient wants; keep multiaddrs.

    Raises:
        InputError: neither a multiaddr nor an http(s) URL with a port.
    """
    if addr.startswith("/"):
        return addr
    m = re.fullmatch(r"(https?)://(\[[0-9a-fA-F:]+\]|[^/:\s]+):(\d+)/?", addr)
    if not m:
        raise InputError(
            "store.kubo_url", f"must be a multiaddr or http(s)://host:port, got {addr!r}"
        )
    scheme, host, port = m.groups()
    if host.startswith("["):
        proto, host = "ip6", host[1:-1]
    elif re.fullmatch(r"\d+\.\d+\.\d+\.\d+", host):
        proto = "ip4"
    else:
        proto = "dns"
    return f"/{proto}/{host}/tcp/{port}/{scheme}"


class KuboStore(BlockStore):
    """A Kubo RPC daemon as a :class:`BlockStore`.

    Args:
        addr: the RPC API as a multiaddr (``/ip4/127.0.0.1/tcp/5001/http``) or ``http://`` URL.
        timeout_s: per-request timeout, seconds (connect and each read).
        has_timeout_s: how long :meth:`has` lets the daemon look for a block locally.
        retry_s: how long a call retries a daemon that refuses connections (default
            ``timeout_s``; 0: fail at once).
    """

    def __init__(
        self, addr: str = DEFAULT_KUBO_ADDR, *, timeout_s: float = 30.0, has_timeout_s: float = 2.0,
        retry_s: float | None = None,
    ) -> None:
        if timeout_s <= 0 or has_timeout_s <= 0:
            raise InputError("timeout_s", "must be > 0 seconds")
        if retry_s is not None and not 0 <= retry_s <= 3600:
            raise InputError("retry_s", f"must be in [0, 3600] seconds, got {retry_s!r}")
        self.addr = to_multiaddr(addr)
        self.timeout_s = timeout_s
        self.retry_s = timeout_s if retry_s is None else retry_s
        self.has_timeout_s = has_timeout_s
        with _quiet():
            self._client = ipfshttpclient.Client(self.addr, timeout=timeout_s)

    def __repr__(self) -> str:
        return f"KuboStore({self.addr!r})"

    def close(self) -> None:
        """Release the HTTP connections."""
        with _quiet():
            self._client.close()

    def _call(self, what: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        deadline = time.monotonic() + self.retry_s
        delay = 0.1
        while True:
            try:
                with _quiet():
                    return fn(*args, **kwargs)
            except (ipfs_exc.ConnectionError, ipfs_exc.ProtocolError) as exc:
                if not _connection_lost(exc):  # a reply that is not the Kubo RPC API
                    raise ContentError(f"IPFS daemon at {self.addr} refused {what}: {exc}") \
                        from exc
                if time.monotonic() + delay > deadline:
                    raise self._unavailable(what, exc) from exc
                # Refused, or reset mid-request (the daemon stopped): it may be restarting.
                # Every call here is idempotent (content-addressed adds, pins, reads).
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            except ipfs_exc.TimeoutError as exc:
                raise StoreUnavailable(
                    f"IPFS daemon at {self.addr} timed out after {self.timeout_s} s ({what})"
                ) from exc
            except ipfs_exc.Error as exc:
                raise ContentError(f"IPFS daemon at {self.addr} refused {what}: {exc}") from exc

    def _unavailable(self, what: str, exc: Exception) -> StoreUnavailable:
        # The library's message is a page of urllib3 detail; keep the OS reason.
        reason = re.search(r"\[Errno -?\d+\][^'\")]*", str(exc))
        return StoreUnavailable(
            f"IPFS daemon at {self.addr} is not answering ({what}): "
            f"{reason.group(0) if reason else 'connection failed'}"
        )

    # --- writes -------------------------------------------------------------------------

    def put_file(self, path: str | Path, *, pin: bool = True) -> CID:
        """Add a file (streamed), check the daemon's CID against the local one, return it."""
        p = Path(path)
        expected = file_cid(p)  # raises InputError for a missing file before any request
        return self._add(str(p), expected, pin)

    def put_bytes(self, data: bytes, *, pin: bool = True) -> CID:
        """Add ``data`` as a file, check the daemon's CID against the local one, return it."""
        return self._add(io.BytesIO(data), bytes_cid(data), pin)

    def _add(self, source: Any, expected: CID, pin: bool) -> CID:
        def add() -> Any:
            if isinstance(source, io.BytesIO):
                source.seek(0)  # a retried add sends the bytes again from the start
            return self._client.add(
                source, cid_version=1, raw_leaves=True, pin=pin, opts=dict(_ADD_OPTS)
            )

        resp = self._call("add", add)
        got = parse_cid(str(resp["Hash"]), field="daemon add response Hash")
        if got != expected:
            if pin:
                with contextlib.suppress(ContentError):
                    self._call("pin rm", self._client.pin.rm, str(got))
            raise ContentError(
                f"IPFS daemon at {self.addr} returned CID {got}, but the content's CID is "
                f"{expected} (different chunker or layout?); put refused"
            )
        return expected

    def pin(self, cid: CidLike) -> None:
        """Pin ``cid`` recursively on the daemon."""
        self._call("pin add", self._client.pin.add, str(_cid(cid)))

    def unpin(self, cid: CidLike) -> None:
        """Remove the recursive pin of ``cid``."""
        self._call("pin rm", self._client.pin.rm, str(_cid(cid)))

    # --- reads --------------------------------------------------------------------------

    def iter_content(self, cid: CidLike) -> Iterator[bytes]:
        """Stream the file under ``cid`` with ``cat``, re-hashing it as it flows.

        The CID check completes with the last chunk: a mismatch raises ``BlockCorrupted`` at
        the end of iteration, so act on the bytes only once the iterator is exhausted
        (:meth:`get` does). The check re-derives the CID with the ``ipfs add`` defaults
        (v1: raw leaves; v0: dag-pb leaves), so content added with another chunker or layout
        cannot be verified and is refused the same way.
        """
        target = _cid(cid)
        stream = self._call("cat", self._client.cat, str(target), stream=True)
        builder = FileDagBuilder(cid_version=target.version)
        pending = bytearray()
        try:
            for piece in stream:
                pending += piece
                while len(pending) >= CHUNK_SIZE:
                    builder.add_chunk(bytes(pending[:CHUNK_SIZE]))
                    del pending[:CHUNK_SIZE]
                yield piece
        except ipfs_exc.Error as exc:
            raise StoreUnavailable(f"IPFS daemon at {self.addr} failed during cat: {exc}") from exc
        if pending:
            builder.add_chunk(bytes(pending))
        got = cid_from_binary(builder.finish().cid)
        if got != target:
            raise BlockCorrupted(
                f"IPFS daemon at {self.addr} served bytes for {target} that re-derive {got}"
                " (tampered data, or content added with a non-default chunker/layout)"
            )

    def has(self, cid: CidLike) -> bool:
        """Whether the daemon holds the root block locally (it is not fetched from the network)."""
        opts = {"offline": "true", "timeout": f"{self.has_timeout_s}s"}
        try:
            self._call("block stat", self._client.block.stat, str(_cid(cid)), opts=opts)
        except StoreUnavailable:
            raise
        except ContentError:
            return False
        return True

    def pins(self) -> set[CID]:
        """The recursive pins on the daemon."""
        # No cid-base here: js-ipfs fails the whole listing when a CIDv0 pin exists.
        resp = self._call("pin ls", self._client.pin.ls, type="recursive")
        return {parse_cid(key) for key in resp["Keys"]}


def _cid(cid: CidLike) -> CID:
    return parse_cid(cid) if isinstance(cid, str) else cid


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # ipfshttpclient 0.7 passes urllib3 a ``strict`` argument; urllib3 2 warns about it on every
    # request. The warning is about the library, not about our call, so it is silenced here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*'strict' parameter", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="ipfshttpclient")
        yield


def _connection_lost(exc: ipfs_exc.CommunicationError) -> bool:
    """Whether ``exc`` means the connection failed or dropped, not that the reply was bad.

    ipfshttpclient raises ``ConnectionError`` for a refused connection but ``ProtocolError``
    (wrapping urllib3's "Connection aborted." and an OS ``ConnectionError``) when a daemon
    that is stopping resets a request in flight.
    """
    if isinstance(exc, ipfs_exc.ConnectionError):
        return True
    todo: list[object] = [exc.original]
    visited: set[int] = set()
    while todo:
        item = todo.pop()
        if id(item) in visited:
            continue
        visited.add(id(item))
        if isinstance(item, ConnectionError):  # the builtin: reset, aborted, broken pipe
            return True
        if isinstance(item, BaseException):
            todo.extend(item.args)
    return False
