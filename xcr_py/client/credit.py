"""Choosing the removal-credit batch a receipt retires from, read from chain.

Eligible: a registry batch of a *removal* method (RemovalCredits cannot hold any other),
permanence at least the controller policy's minimum, and enough grams in the controller's
inventory. The choice is made before the receipt is built (the receipt names it), so it is
cached with a local count of grams already promised and re-read from chain only when that
count runs out: one chain read per many assets, not one per asset.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from xcr_py.chain.gateway import CreditBatch, RemovalMethod, XcrGateway
from xcr_py.errors import ChainError, ContractRevert, InputError

__all__ = ["CreditChoice", "CreditSelector", "NoEligibleCredits", "method_name"]

_METHOD_NAMES = {
    RemovalMethod.DIRECT_AIR_CAPTURE: "DAC",
    RemovalMethod.BIOCHAR: "biochar",
    RemovalMethod.ENHANCED_WEATHERING: "enhanced weathering",
    RemovalMethod.MINERALISATION: "mineralisation",
    RemovalMethod.BECCS: "BECCS",
    RemovalMethod.OCEAN_ALKALINITY: "ocean alkalinity",
}


def method_name(method: RemovalMethod) -> str:
    """Short human name of a removal method (``DAC``, ``biochar``...)."""
    return _METHOD_NAMES[method]


class NoEligibleCredits(ChainError):
    """No credit batch is eligible (removal, permanence, inventory) for the grams needed."""


@dataclass(frozen=True)
class CreditChoice:
    """The batch a receipt names, as the receipt's ``removal.credit`` part needs it."""

    batch: CreditBatch
    chain_id: int
    contract: str

    def receipt_part(self) -> dict[str, object]:
        """``removal.credit`` of the receipt document."""
        return {"chain_id": self.chain_id, "contract": self.contract,
                "batch_id": self.batch.batch_id, "project": self.batch.project_id,
                "method": method_name(self.batch.method),
                "permanence_years": self.batch.permanence_years}


class CreditSelector:
    """Picks an eligible credit batch and keeps a local tally of grams promised from it.

    Args:
        gateway: the deployment to read.
        preferred: a batch id the operator names; only that batch is used (an ineligible
            one is an error, never silently replaced).
        chain_lock: held around the chain reads, when other threads share the connection.
    """

    def __init__(self, gateway: XcrGateway, preferred: int | None = None, *,
                 chain_lock: AbstractContextManager[Any] | None = None) -> None:
        if preferred is not None and (isinstance(preferred, bool) or preferred < 1):
            raise InputError("credit_batch", f"must be a batch id >= 1, got {preferred!r}")
        self._gateway = gateway
        self._preferred = preferred
        self._lock = threading.Lock()
        self._chain_lock = chain_lock if chain_lock is not None else nullcontext()
        self._current: CreditChoice | None = None
        self._left_g = 0
        self._min_permanence: int | None = None

    def _batch_ids(self) -> list[int]:
        if self._preferred is not None:
            return [self._preferred]
        count = int(self._gateway.sender.call(
            lambda: self._gateway.credits.functions.batchCount().call()))
        return list(range(1, count + 1))

    def _refresh(self, grams: int) -> None:
        gw = self._gateway
        if self._min_permanence is None:
            self._min_permanence = int(gw.policy()[1])
        reasons: list[str] = []
        for batch_id in self._batch_ids():
            try:
                batch = gw.credit_batch(batch_id)
            except ContractRevert as exc:
                reasons.append(f"{batch_id}: {exc.name}")
                continue
            if batch.permanence_years < self._min_permanence:
                reasons.append(f"{batch_id}: permanence {batch.permanence_years} y < policy "
                               f"{self._min_permanence} y")
                continue
            held = gw.inventory_grams(batch_id)
            if held < grams:
                reasons.append(f"{batch_id}: {held} g held < {grams} g needed")
                continue
            self._current = CreditChoice(batch, gw.deployment.chain_id, gw.deployment.credits)
            self._left_g = held
            return
        self._current = None
        raise NoEligibleCredits("no eligible removal-credit batch for "
                                f"{grams} g: " + ("; ".join(reasons) or "none issued"))

    def reserve(self, grams: int) -> CreditChoice:
        """The batch to name for an asset needing ``grams`` g; counts them as promised.

        Raises:
            NoEligibleCredits: none is eligible with enough grams (the message says why).
        """
        with self._lock:
            if self._current is None or self._left_g < grams:
                with self._chain_lock:
                    self._refresh(grams)
            assert self._current is not None
            self._left_g -= grams
            return self._current

    def invalidate(self) -> None:
        """Forget the cached choice (after a revert about inventory or eligibility)."""
        with self._lock:
            self._current = None
