"""The server's one connection to the store and the chain, opened at start, read under a lock.

The embedded chain admits one holding process and eth-tester is not thread-safe, so the chain
is opened once and every read goes through :attr:`Backend.lock`. The connection refuses any
method that could change state (:class:`ReadOnlyMiddleware`): the server only reads.

Results that depend on the chain are cached per block number (the chain's state cannot change
without a new block) and per content CID (content-addressed bytes cannot change at all).
"""

from __future__ import annotations

import string
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from multiformats import CID
from web3.middleware.base import Web3Middleware

from xcr_py.chain.gateway import (
    BATCH_BIT,
    CreditBatch,
    Receipt,
    Retirement,
    RetirementStatus,
    XcrGateway,
    asset_token_id,
)
from xcr_py.config import XcrConfig
from xcr_py.content.store import BlockStore
from xcr_py.errors import ChainError, XcrError
from xcr_py.receipt.label import ImpactLabel
from xcr_py.serve.index import StoreIndex
from xcr_py.verify import STEPS, Step, Verdict, verify_file
from xcr_py.verify.sources import ChainView, open_chain, open_verify_store, read_gateway

__all__ = ["Backend", "NotFound", "ReadOnlyMiddleware", "Settled"]

T = TypeVar("T")

_WRITE_PREFIXES = ("eth_send", "eth_sign", "eth_submit", "personal_", "evm_", "anvil_",
                   "hardhat_", "miner_", "admin_", "debug_set", "txpool_")


class ReadOnlyMiddleware(Web3Middleware):
    """Refuses every JSON-RPC method that sends, signs or changes node state."""

    def request_processor(self, method: Any, params: Any) -> Any:
        """Raise ChainError for a writing method; pass reads through."""
        if str(method).startswith(_WRITE_PREFIXES):
            raise ChainError(f"xcr serve is read-only: {method} refused")
        return method, params


class NotFound(XcrError):
    """The thing asked for does not exist (becomes a 404 problem)."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(detail)
        self.what = what


@dataclass(frozen=True)
class Settled:
    """An asset's settlement as read on chain."""

    mode: str
    token_id: int
    token: Receipt
    retirement: Retirement
    credit: CreditBatch
    removed_share_mg: int
    batch_cid: str | None


def status_word(status: RetirementStatus) -> str:
    """``final`` or ``pending`` (a record that does not exist is never shown)."""
    return "final" if status == RetirementStatus.FINAL else "pending"


def method_words(name: str) -> str:
    """``DIRECT_AIR_CAPTURE`` -> ``direct air capture``."""
    return name.lower().replace("_", " ")


def label_method(energy_method: str) -> str:
    """The impact label's method word for a receipt's ``energy.method``."""
    if energy_method == "measured":
        return "measured"
    return "estimated (published benchmark)" if "benchmark" in energy_method else "estimated"


class _Lru:
    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, make: Callable[[], T]) -> T:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = make()
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


class Backend:
    """The configured store and chain, for reads only.

    Args:
        config: names the store, the chain and the explorer URL template.
        store: use this store instead of opening the configured one.
        chain: use this connection instead of opening the configured chain.

    Raises:
        ConfigError: no deployment file; ChainError: the chain cannot be opened (the embedded
            chain is held by another process, or the node does not answer).
    """

    def __init__(self, config: XcrConfig, *, store: BlockStore | None = None,
                 chain: ChainView | None = None) -> None:
        self.config = config
        self._stack = ExitStack()
        self.lock = threading.RLock()
        try:
            self.store = store if store is not None else open_verify_store(config)
            self.chain = chain if chain is not None else open_chain(config, self._stack)
            self.chain.w3.middleware_onion.add(ReadOnlyMiddleware, "xcr_read_only")
            self._pin_call_sender()
            self.gateway: XcrGateway = read_gateway(self.chain)
            self.chain_id = int(self.chain.w3.eth.chain_id)
        except BaseException:
            self._stack.close()
            raise
        self.index = StoreIndex(self.store)
        self._cache = _Lru(4096)

    def close(self) -> None:
        """Release the chain (the embedded chain's lock) and the store."""
        with self.lock:
            self._stack.close()
            close = getattr(self.store, "close", None)
            if callable(close):
                close()

    def _pin_call_sender(self) -> None:
        """Give eth_call a fixed ``from`` so no read asks the node for its accounts first.

        The eth-tester provider otherwise guesses ``from`` with two ``eth_accounts`` requests
        per call (about half of a verification's time on the embedded chain). Reads do not
        depend on the sender; a node without accounts keeps the default (no ``from``).
        """
        w3 = self.chain.w3
        if w3.eth.default_account:
            return
        accounts = w3.eth.accounts
        if accounts:
            w3.eth.default_account = accounts[0]

    # --- helpers -----------------------------------------------------------------------
    def block_number(self) -> int:
        """The chain's current block (the cache key of chain-derived results)."""
        with self.lock:
            return int(self.chain.w3.eth.block_number)

    def cached(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """``make()`` once per ``key`` and block number, under the chain lock."""
        with self.lock:
            return self._cache.get((*key, self.block_number()), make)

    def explorer(self, **fields: Any) -> str | None:
        """The explorer link for ``fields``, or None without a template or a needed field."""
        template = self.config.explorer_url
        if template is None:
            return None
        names = {n for _, n, _, _ in string.Formatter().parse(template) if n}
        if not names <= {k for k, v in fields.items() if v is not None}:
            return None
        return template.format(**{k: fields[k] for k in names})

    def token_link(self, token_id: int) -> str | None:
        """The token on the explorer."""
        return self.explorer(token_id=token_id, contract=self.chain.deployment.receipts,
                             chain_id=self.chain_id, address=self.chain.deployment.receipts)

    # --- chain reads -------------------------------------------------------------------
    def token(self, token_id: int) -> tuple[Receipt, Retirement, CreditBatch, bool]:
        """(record, retirement, credit batch, locked) of an existing receipt token.

        Raises:
            NotFound: no such token.
        """
        def read() -> tuple[Receipt, Retirement, CreditBatch, bool]:
            gw = self.gateway
            if not gw.receipt_exists(token_id):
                raise NotFound("token", f"token_id: no receipt token {token_id} on chain "
                               f"{self.chain_id}")
            record = gw.receipt(token_id)
            retirement = gw.retirement(record.retirement_id)
            credit = gw.credit_batch(retirement.batch_id)
            locked = bool(gw.receipts.functions.locked(token_id).call())
            return record, retirement, credit, locked

        return self.cached(("token", token_id), read)

    def retirement(self, retirement_id: int) -> tuple[Retirement, CreditBatch]:
        """An existing retirement and its credit batch.

        Raises:
            NotFound: no such retirement.
        """
        def read() -> tuple[Retirement, CreditBatch]:
            r = self.gateway.retirement(retirement_id)
            if r.status not in (RetirementStatus.PENDING, RetirementStatus.FINAL):
                raise NotFound("retirement", f"id: no retirement {retirement_id} on chain "
                               f"{self.chain_id}")
            return r, self.gateway.credit_batch(r.batch_id)

        return self.cached(("retirement", retirement_id), read)

    def settlement(self, asset_cid: str) -> Settled | None:
        """How ``asset_cid`` was settled: its batch token if listed in a batch, else its own."""
        entry = self.index.batch_for(asset_cid)
        candidates: list[tuple[str, int]] = []
        if entry is not None:
            candidates.append(("batch", int(entry.root, 16) | BATCH_BIT))
        digest = bytes(CID.decode(asset_cid).raw_digest)
        candidates.append(("single", asset_token_id(digest)))
        for mode, token_id in candidates:
            try:
                record, retirement, credit, _ = self.token(token_id)
            except NotFound:
                continue
            share = record.removed_mg
            if mode == "batch" and entry is not None:
                gross = int(entry.leaf.get("gross_mg", 0))
                share = record.removed_mg * gross // record.gross_mg if record.gross_mg else 0
            return Settled(mode, token_id, record, retirement, credit, share,
                           entry.batch_cid if mode == "batch" and entry else None)
        return None

    def label(self, receipt_cid: str, doc: dict[str, Any], settled: Settled) -> ImpactLabel:
        """The impact label the asset carries, rebuilt from its receipt and the chain."""
        return ImpactLabel(
            receipt_cid=receipt_cid,
            chain_id=self.chain_id,
            receipt_contract=self.chain.deployment.receipts,
            token_id=settled.token_id,
            gross_mg=int(doc["emissions"]["gross_mg"]),
            removed_mg=settled.removed_share_mg,
            ratio_bps=int(doc["removal"]["ratio_bps"]),
            method=label_method(str(doc["energy"]["method"])),  # type: ignore[arg-type]
            removal_method=method_words(settled.credit.method.name),
            permanence_years=settled.credit.permanence_years,
            retirement_status=status_word(settled.retirement.status),  # type: ignore[arg-type]
        )

    # --- verification ------------------------------------------------------------------
    def verify_bytes(self, data: bytes, name: str, sidecar: bytes | None = None) -> Verdict:
        """Verify uploaded bytes (and an optional ``.xcr.json`` sidecar) as ``xcr verify`` does.

        The bytes go to a private temporary folder (never the store or the data directory).
        """
        with tempfile.TemporaryDirectory(prefix="xcr-serve-") as tmp:
            path = Path(tmp) / "asset"
            path.write_bytes(data)
            if sidecar is not None:
                (Path(tmp) / "asset.xcr.json").write_bytes(sidecar)
            with self.lock:
                verdict = verify_file(path, self.config, store=self.store, chain=self.chain)
        return Verdict(name, verdict.mode, verdict.steps)

    def verify_stored(self, asset_cid: str, label: ImpactLabel) -> Verdict:
        """Verify a stored asset: its bytes from the store, labelled as it was issued."""
        from xcr_py.embed.sidecar import write_sidecar

        def run() -> Verdict:
            try:
                data = self.store.get(asset_cid)
            except XcrError as exc:  # the asset's bytes are gone: nothing can be re-derived
                return Verdict(f"store:{asset_cid}", None, (Step(
                    "asset_cid", STEPS["asset_cid"], "fail",
                    f"asset bytes not retrievable from the store: {exc}"),))
            with tempfile.TemporaryDirectory(prefix="xcr-serve-") as tmp:
                path = Path(tmp) / "asset"
                path.write_bytes(data)
                write_sidecar(path, label)
                verdict = verify_file(path, self.config, store=self.store, chain=self.chain)
            return Verdict(f"store:{asset_cid}", verdict.mode, verdict.steps)

        return self.cached(("verify", asset_cid, label), run)
