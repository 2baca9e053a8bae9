"""Issuing credits to a contract runs its ERC-1155 hook only after the batch is recorded (CEI)."""

from __future__ import annotations

from pathlib import Path

import solcx

from tests.chain.helpers import Env
from xcr_py.chain import RemovalMethod

REPO = Path(__file__).resolve().parents[2]


def test_receiver_hook_sees_the_recorded_batch_and_cannot_reenter(embedded_env: Env) -> None:
    source = (Path(__file__).parent / "sol" / "ProbingReceiver.sol").read_text()
    compiled = solcx.compile_source(
        source,
        output_values=["abi", "bin"],
        solc_binary=REPO / "scripts" / "solc",
        evm_version="shanghai",
    )
    artifact = next(v for k, v in compiled.items() if k.endswith(":ProbingReceiver"))
    w3, sender = embedded_env.w3, embedded_env.admin.sender
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bin"])
    address = sender.send(None, factory.constructor().data_in_transaction).contract_address
    assert address is not None
    probe = w3.eth.contract(address=address, abi=artifact["abi"])

    batch_id, _ = embedded_env.admin.issue_batch(
        500,
        RemovalMethod.MINERALISATION,
        1000,
        2025,
        "Puro.earth",
        "P-9",
        "1-500",
        "bafy",
        to=address,
    )
    assert probe.functions.seenBalanceCall().call() == batch_id
    assert probe.functions.seenBatchCount().call() == batch_id  # already counted in the hook
    assert probe.functions.reentryReverted().call() is True  # the hook holds no registrar role
    assert embedded_env.admin.credits.functions.batchCount().call() == batch_id
    assert embedded_env.admin.credits.functions.balanceOf(address, batch_id).call() == 500
