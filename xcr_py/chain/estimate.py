"""Gas estimation for the embedded chain in two EVM runs instead of py-evm's ~13.

py-evm's default estimator (``binary_gas_search_intrinsic_tolerance``) bisects between the
intrinsic gas and the block gas limit, executing the transaction once per step: about 13
executions, which made one batch settlement's estimate cost more than all its assets' receipts.
Here the transaction runs once at the block gas limit; the gas it consumed (before refunds),
raised by 1/63 for the share each call must keep back (EIP-150) plus a call stipend, is then
checked by a second run. Only if that run fails does the bisection run, so the estimate is
never lower than a gas limit that works. :class:`~xcr_py.chain.contracts.Sender` adds its own
margin on top, as it does for every node.
"""

from __future__ import annotations

from typing import Any

from eth.estimators.gas import binary_gas_search_intrinsic_tolerance
from eth.vm.spoof import SpoofTransaction

__all__ = ["two_run_estimate", "use_two_run_estimator"]

_STIPEND = 2_300


def _run(state: Any, transaction: Any, gas: int) -> Any:
    """The computation of ``transaction`` with ``gas`` (state left as it was)."""
    snapshot = state.snapshot()
    try:
        return state.apply_transaction(SpoofTransaction(transaction, gas=gas, gas_price=0))
    finally:
        state.revert(snapshot)


def two_run_estimate(state: Any, transaction: Any) -> int:
    """Gas limit for ``transaction`` on ``state`` (py-evm's estimator signature).

    Raises:
        VMError: the transaction fails even with the block gas limit (as py-evm's does).
    """
    limit = int(state.gas_limit)
    probe = _run(state, transaction, limit)
    if probe.is_error:  # let py-evm raise exactly what it raises for a revert
        return int(binary_gas_search_intrinsic_tolerance(state, transaction))
    used = int(transaction.intrinsic_gas) + int(probe.get_gas_used())
    guess = min(limit, used * 64 // 63 + _STIPEND)
    if not _run(state, transaction, guess).is_error:
        return guess
    return int(binary_gas_search_intrinsic_tolerance(state, transaction))


def use_two_run_estimator(tester: Any) -> None:
    """Make an ``EthereumTester`` on py-evm estimate with :func:`two_run_estimate`.

    Set on the backend's own chain class (eth-tester makes one per backend), so chains it
    rebuilds from a snapshot keep it, and on the current chain instance, which copied the
    default when it was built.
    """
    chain = tester.backend.chain
    type(chain).gas_estimator = staticmethod(two_run_estimate)
    chain.gas_estimator = two_run_estimate
