"""Deploy RemovalCredits, CarbonReceipt and XcrController with ape and mint one receipt.

Runs on ape's built-in eth-tester provider. Gross emissions come from xcr_py/units.py, loaded by
path (xcr_py is not installed in the ape environment), so the arithmetic is the contract's.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import ape
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

UNITS_PY = Path(
    os.environ.get("XCR_UNITS_PY", Path(__file__).resolve().parents[2] / "xcr_py/units.py")
)
_spec = importlib.util.spec_from_file_location("xcr_units", UNITS_PY)
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


def test_deploy_and_mint_a_soulbound_receipt(accounts, project, chain) -> None:  # type: ignore[no-untyped-def]
    admin, creator, submitter = accounts[0], accounts[1], accounts[2]
    oracle = Account.create()
    credits = project.RemovalCredits.deploy(admin, "ipfs://{id}", sender=admin)
    receipts = project.CarbonReceipt.deploy(admin, sender=admin)
    controller = project.XcrController.deploy(
        admin, credits, receipts, [oracle.address], 1, 10_000, 100, sender=admin
    )
    credits.grantRole(keccak(text="RETIRER_ROLE"), controller, sender=admin)
    receipts.grantRole(keccak(text="MINTER_ROLE"), controller, sender=admin)
    credits.grantRole(keccak(text="REGISTRAR_ROLE"), admin, sender=admin)
    terms = (1_000_000, 0, 1000, 2025, "Puro.earth", "DAC-1", "1-1000000", "bafkreiexample")
    tx = credits.issueBatch(controller, terms, sender=admin)
    (issued,) = [e for e in tx.events if e.event_name == "BatchIssued"]
    batch_id = issued.batchId

    energy_mj, intensity, pue, embodied = 3_600_000_000, 400_000, 1_200, 5_000
    gross = units.gross_emissions_mg(energy_mj, intensity, pue, embodied)
    asset = keccak(text="ape asset")
    report = {
        "assetDigest": asset,
        "receiptDigest": keccak(text="ape receipt"),
        "creator": creator.address,
        "energyMj": energy_mj,
        "intensityMgPerKwh": intensity,
        "pueMilli": pue,
        "embodiedMg": embodied,
        "grossMg": gross,
        "ratioBps": 10_000,
        "creditBatch": batch_id,
        "deadline": int(max(chain.pending_timestamp, time.time())) + 3600,
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
                    "chainId": chain.chain_id,
                    "verifyingContract": controller.address,
                },
                "message": report,
            }
        ),
        oracle.key,
    )
    controller.submitSingle(
        tuple(report[n] for n, _ in REPORT_FIELDS), [signed.signature], sender=submitter
    )
    token_id = int.from_bytes(asset, "big") & ~(1 << 255)
    assert receipts.ownerOf(token_id) == creator.address
    assert receipts.locked(token_id) is True
    retired_g = units.grams_to_retire(units.required_removal_mg(gross, 10_000))
    assert credits.balanceOf(controller, batch_id) == 1_000_000 - retired_g
    with ape.reverts():
        receipts.transferFrom(creator, admin, token_id, sender=creator)
