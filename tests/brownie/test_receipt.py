"""Deploy RemovalCredits, CarbonReceipt and XcrController with brownie and mint one receipt.

Gross emissions come from xcr_py/units.py (loaded by path: xcr_py itself is not installed in the
brownie environment), so the test uses the same arithmetic the contract recomputes.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import brownie
from brownie import CarbonReceipt, RemovalCredits, XcrController, accounts, chain, web3
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

_spec = importlib.util.spec_from_file_location(
    "xcr_units", Path(__file__).resolve().parents[2] / "xcr_py" / "units.py"
)
assert _spec is not None and _spec.loader is not None
units = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(units)

REPORT_FIELDS = [
    ("assetDigest", "bytes32"),
    ("receiptDigest", "bytes32"),
    ("creator", "address"),
    ("energyMj", "uint64"),
    ("intensityMgPerKwh", "uint32"),
    ("pueMilli", "uint32"),
    ("embodiedMg", "uint64"),
    ("grossMg", "uint64"),
    ("ratioBps", "uint32"),
    ("creditBatch", "uint32"),
    ("deadline", "uint64"),
]


def test_deploy_and_mint_a_soulbound_receipt() -> None:
    admin, creator, submitter = accounts[0], accounts[1], accounts[2]  # anvil's unlocked accounts
    oracle = Account.create()
    credits = RemovalCredits.deploy(admin, "ipfs://{id}", {"from": admin})
    receipts = CarbonReceipt.deploy(admin, {"from": admin})
    controller = XcrController.deploy(
        admin, credits, receipts, [oracle.address], 1, 10_000, 100, {"from": admin}
    )
    credits.grantRole(keccak(text="RETIRER_ROLE"), controller, {"from": admin})
    receipts.grantRole(keccak(text="MINTER_ROLE"), controller, {"from": admin})
    credits.grantRole(keccak(text="REGISTRAR_ROLE"), admin, {"from": admin})
    terms = (1_000_000, 0, 1000, 2025, "Puro.earth", "DAC-1", "1-1000000", "bafkreiexample")
    tx = credits.issueBatch(controller, terms, {"from": admin})
    batch_id = tx.events["BatchIssued"]["batchId"]

    energy_mj, intensity, pue, embodied = 3_600_000_000, 400_000, 1_200, 5_000
    gross = units.gross_emissions_mg(energy_mj, intensity, pue, embodied)
    asset = keccak(text="brownie asset")
    report = {
        "assetDigest": asset,
        "receiptDigest": keccak(text="brownie receipt"),
        "creator": creator.address,
        "energyMj": energy_mj,
        "intensityMgPerKwh": intensity,
        "pueMilli": pue,
        "embodiedMg": embodied,
        "grossMg": gross,
        "ratioBps": 10_000,
        "creditBatch": batch_id,
        "deadline": int(max(chain.time(), time.time())) + 3600,
    }
    signed = Account.sign_message(
        encode_typed_data(
            full_message={
                "types": {
                    "EIP712Domain": [
                        {"name": "name", "type": "string"},
                        {"name": "version", "type": "string"},
                        {"name": "chainId", "type": "uint256"},
                        {"name": "verifyingContract", "type": "address"},
                    ],
                    "MeteringReport": [{"name": n, "type": t} for n, t in REPORT_FIELDS],
                },
                "primaryType": "MeteringReport",
                "domain": {
                    "name": "XCR",
                    "version": "1",
                    "chainId": web3.eth.chain_id,
                    "verifyingContract": controller.address,
                },
                "message": report,
            }
        ),
        oracle.key,
    )
    tx = controller.submitSingle(
        tuple(report[n] for n, _ in REPORT_FIELDS), [signed.signature], {"from": submitter}
    )
    token_id = tx.return_value
    assert token_id == int.from_bytes(asset, "big") & ~(1 << 255)
    assert receipts.ownerOf(token_id) == creator
    assert receipts.locked(token_id) is True
    retired_g = units.grams_to_retire(units.required_removal_mg(gross, 10_000))
    assert credits.balanceOf(controller, batch_id) == 1_000_000 - retired_g
    with brownie.reverts():
        receipts.transferFrom(creator, admin, token_id, {"from": creator})
