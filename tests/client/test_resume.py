"""Settlement resume and retry: chain state is read before anything is sent again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_utils import keccak

from tests.client.helpers import System, asset_bytes
from xcr_py.chain import XcrGateway
from xcr_py.client import Settler, Tracker
from xcr_py.errors import ChainError

MakeTracker = Callable[..., Tracker]


class Crash(BaseException):
    """Stands for SIGKILL right after a transaction left the process."""


class Gateway:
    """Delegates to a real gateway; ``crash_after`` / ``fail_first`` wrap one submit method."""

    def __init__(self, real: XcrGateway, method: str, *, crash_after: bool = False,
                 fail_first: int = 0) -> None:
        self._real, self._method = real, method
        self._crash_after, self._fail_left = crash_after, fail_first
        self.calls = 0
        self.sent: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name != self._method:
            return attr

        def submit(*args: Any) -> Any:
            self.calls += 1
            if self._fail_left:
                self._fail_left -= 1
                raise ChainError("no EVM node answers: ConnectionRefusedError")
            settled = attr(*args)
            self.sent.append(settled)
            if self._crash_after:
                raise Crash
            return settled
        return submit


_ISSUED = keccak(text="ReceiptIssued(uint256,bytes32,uint256,bytes32,uint256,uint256,uint256)")


def _issued_logs(system: System, token: int) -> int:
    """How many ReceiptIssued events minted ``token`` (any transaction)."""
    gw = system.gateway()
    logs = gw.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest",
                               "address": gw.receipts.address})
    return sum(1 for log in logs if bytes(log["topics"][0]) == _ISSUED
               and int.from_bytes(bytes(log["topics"][1]), "big") == token)


def _prepared(make_tracker: MakeTracker, mode: str, ids: range) -> Tracker:
    tracker = make_tracker(mode, batch_size=len(ids), settle=False)
    for i in ids:
        with tracker.track(asset_bytes(i), model="m"):
            pass
    tracker.flush(30, raise_on_failure=False)
    assert tracker.outbox.status().counts["pinned"] == len(ids)
    return tracker


def _settler(tracker: Tracker, gateway: Any, mode: str, size: int) -> Settler:
    return Settler(tracker.outbox, gateway, tracker.quorum, tracker.store, mode=mode,  # type: ignore[arg-type]
                   batch_size=size, max_delay_s=3600)


def test_single_crash_after_send_is_confirmed_from_chain_not_resent(
        make_tracker: MakeTracker, system: System) -> None:
    tracker = _prepared(make_tracker, "single", range(100, 101))
    crashing = Gateway(system.gateway(), "submit_single", crash_after=True)
    with pytest.raises(Crash):
        _settler(tracker, crashing, "single", 1).step()
    (item,) = tracker.outbox.items()
    assert item.state == "signed" and item.tx_hash is None  # the send was never recorded
    watching = Gateway(system.gateway(), "submit_single")
    _settler(tracker, watching, "single", 1).step()
    (item,) = tracker.outbox.items()
    assert item.state == "confirmed" and watching.calls == 0
    assert item.tx_hash == crashing.sent[0].tx.tx_hash
    assert item.token_id == crashing.sent[0].token_id
    assert _issued_logs(system, item.token_id) == 1


def test_batch_crash_after_submitted_is_confirmed_from_chain_not_resent(
        make_tracker: MakeTracker, system: System) -> None:
    tracker = _prepared(make_tracker, "batch", range(110, 113))
    crashing = Gateway(system.gateway(), "submit_batch", crash_after=True)
    with pytest.raises(Crash):
        _settler(tracker, crashing, "batch", 3).step()
    (batch,) = tracker.outbox.due_batches("signed")
    # Crash after the hash was recorded but before confirmation: state 'submitted'.
    tracker.outbox.submit_batch(batch.batch_id, tx_hash=crashing.sent[0].tx.tx_hash)
    watching = Gateway(system.gateway(), "submit_batch")
    _settler(tracker, watching, "batch", 3).step()
    assert watching.calls == 0
    assert tracker.outbox.get_batch(batch.batch_id).state == "confirmed"
    items = tracker.outbox.items()
    assert {i.state for i in items} == {"confirmed"}
    assert {i.token_id for i in items} == {crashing.sent[0].token_id}
    assert _issued_logs(system, crashing.sent[0].token_id) == 1


def test_transient_errors_back_off_then_settle(make_tracker: MakeTracker,
                                               system: System) -> None:
    flaky = Gateway(system.gateway(), "submit_single", fail_first=2)
    tracker = make_tracker("single", gateway=flaky)
    with tracker.track(asset_bytes(120), model="m"):
        pass
    (result,) = tracker.flush(30)
    assert result.state == "confirmed" and flaky.calls == 3


def test_transient_errors_fail_at_the_retry_limit(make_tracker: MakeTracker,
                                                  system: System) -> None:
    dead = Gateway(system.gateway(), "submit_single", fail_first=100)
    tracker = make_tracker("single", gateway=dead)
    with tracker.track(asset_bytes(121), model="m"):
        pass
    results = tracker.flush(30, raise_on_failure=False)
    assert results[0].state == "failed"
    assert results[0].error is not None and results[0].error.startswith("RetriesExhausted")
    assert dead.calls == tracker.outbox.policy.max_attempts
