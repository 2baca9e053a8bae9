"""The embedded chain's two-run gas estimate: enough to succeed, close to the exact minimum."""

from __future__ import annotations

from typing import Any

import pytest
from eth.estimators.gas import binary_gas_search_exact
from eth_account import Account

from xcr_py.chain import RemovalMethod, XcrGateway, connect, deploy, dev_private_keys
from xcr_py.chain.contracts import bytecode, encode_call
from xcr_py.chain.estimate import two_run_estimate
from xcr_py.errors import ContractRevert


def _use(w3: Any, estimator: Any) -> None:
    chain = w3.provider.ethereum_tester.backend.chain
    type(chain).gas_estimator = staticmethod(estimator)
    chain.gas_estimator = estimator


@pytest.fixture(scope="module")
def world() -> tuple[Any, list[str], XcrGateway]:
    w3 = connect("embedded")
    keys = dev_private_keys(w3)
    deployment = deploy(w3, keys[0], [Account.from_key(keys[1]).address], threshold=1)
    return w3, keys, XcrGateway(w3, deployment, keys[0])


def _calls(world: tuple[Any, list[str], XcrGateway]) -> list[dict[str, Any]]:
    w3, keys, gw = world
    admin = Account.from_key(keys[0]).address
    issue = encode_call(gw.credits, "issueBatch", [gw.controller.address, (
        10**9, int(RemovalMethod.BIOCHAR), 150, 2025, "Registry", "PRJ-1", "1-1000000000",
        "bafkqaaa")])
    return [
        # a deployment (large initcode, constructor writes roles and the URI)
        {"from": admin, "data": bytecode("RemovalCredits") + w3.codec.encode(
            ["address", "string"], [admin, "ipfs://{id}"]).hex()},
        {"from": admin, "to": gw.credits.address, "data": issue},  # fresh storage, events
        {"from": admin, "to": gw.controller.address, "data": encode_call(gw.controller,
                                                                         "pause", [])},
    ]


def test_estimate_succeeds_and_stays_near_the_exact_minimum(
        world: tuple[Any, list[str], XcrGateway]) -> None:
    w3, keys, _ = world
    account = Account.from_key(keys[0])
    for tx in _calls(world):
        fast = w3.eth.estimate_gas(tx)
        _use(w3, binary_gas_search_exact)
        try:
            exact = w3.eth.estimate_gas(tx)
        finally:
            _use(w3, two_run_estimate)
        assert exact <= fast <= exact * 64 // 63 + 2_300 + 1, (tx.get("to"), exact, fast)
        signed = account.sign_transaction({
            **{k: v for k, v in tx.items() if k != "from"}, "gas": fast, "value": 0,
            "gasPrice": w3.eth.gas_price, "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(account.address)})
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction))
        assert receipt["status"] == 1  # the estimate itself is a gas limit that works


def test_a_reverting_call_still_decodes_to_its_custom_error(
        world: tuple[Any, list[str], XcrGateway]) -> None:
    w3, keys, gw = world
    stranger = XcrGateway(w3, gw.deployment, keys[5])
    with pytest.raises(ContractRevert) as info:
        stranger.sender.transact(stranger.controller, "pause")
    assert info.value.name == "AccessControlUnauthorizedAccount"
