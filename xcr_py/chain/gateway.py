"""Typed calls on a deployed XCR system: issue credits, settle reports, claim and read receipts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from xcr_py.chain.contracts import Sender, TxResult
from xcr_py.chain.deployment import Deployment
from xcr_py.errors import InputError
from xcr_py.oracle.eip712 import BatchReport, Domain, Leaf, MeteringReport

__all__ = [
    "BATCH_BIT",
    "CreditBatch",
    "Receipt",
    "RemovalMethod",
    "Retirement",
    "RetirementStatus",
    "Settlement",
    "XcrGateway",
    "asset_token_id",
]

BATCH_BIT = 1 << 255
"""Top bit of a token id: set for batch receipts, clear for asset receipts."""

_RETIRED_TOPIC = keccak(text="Retired(uint256,uint256,uint256,address,uint256)")
_ISSUED_TOPIC = keccak(
    text="ReceiptIssued(uint256,bytes32,uint256,bytes32,uint256,uint256,uint256)"
)
_BATCH_ISSUED_TOPIC = keccak(
    text="BatchIssued(uint256,address,(uint64,uint8,uint16,uint16,string,string,string,string))"
)


class RemovalMethod(IntEnum):
    """Removal methods RemovalCredits can represent (mirrors the Solidity enum; removal only)."""

    DIRECT_AIR_CAPTURE = 0
    BIOCHAR = 1
    ENHANCED_WEATHERING = 2
    MINERALISATION = 3
    BECCS = 4
    OCEAN_ALKALINITY = 5


class RetirementStatus(IntEnum):
    """Retirement status on chain."""

    NONE = 0
    PENDING = 1
    FINAL = 2


def asset_token_id(asset_digest: bytes) -> int:
    """Receipt token id of an asset: its digest with the top bit cleared."""
    return int.from_bytes(asset_digest, "big") & (BATCH_BIT - 1)


@dataclass(frozen=True)
class CreditBatch:
    """A registry batch of removal credits (units: grams CO2e, years)."""

    batch_id: int
    method: RemovalMethod
    permanence_years: int
    vintage: int
    issued_grams: int
    registry: str
    project_id: str
    serial_range: str
    metadata_cid: str


@dataclass(frozen=True)
class Retirement:
    """A retirement record; ``certificate`` is empty while Pending."""

    retirement_id: int
    beneficiary: str
    batch_id: int
    grams: int
    status: RetirementStatus
    certificate: str


@dataclass(frozen=True)
class Receipt:
    """A receipt's on-chain record. Units: energy mJ, emissions and removal mg, time unix s."""

    token_id: int
    owner: str
    receipt_digest: bytes
    energy_mj: int
    gross_mg: int
    removed_mg: int
    retirement_id: int
    time: int
    is_batch: bool
    is_claim: bool
    asset_digest: bytes | None
    token_uri: str


@dataclass(frozen=True)
class Settlement:
    """Result of a settlement or claim transaction."""

    token_id: int
    retirement_id: int
    tx: TxResult


def _topic_int(log: Any, index: int) -> int:
    return int.from_bytes(bytes(log["topics"][index]), "big")


def _find(logs: Sequence[Any], topic: bytes, address: str) -> Any:
    for log in logs:
        topics = log["topics"]
        if topics and bytes(topics[0]) == topic and log["address"].lower() == address.lower():
            return log
    raise AssertionError("expected event missing from a successful transaction")


class XcrGateway:
    """Typed access to one deployment, sending from one key.

    Args:
        w3: the connection.
        deployment: where the contracts are.
        private_key: key of the sending account (registrar, admin or any submitter).
    """

    def __init__(self, w3: Web3, deployment: Deployment, private_key: str | bytes) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.sender = Sender(w3, private_key)
        self.credits = deployment.contract(w3, "RemovalCredits")
        self.receipts = deployment.contract(w3, "CarbonReceipt")
        self.controller = deployment.contract(w3, "XcrController")

    @property
    def domain(self) -> Domain:
        """The EIP-712 domain reports for this deployment are signed under."""
        return Domain(
            chain_id=self.deployment.chain_id, verifying_contract=self.deployment.controller
        )

    # --- credits -------------------------------------------------------------------------
    def issue_batch(
        self,
        grams: int,
        method: RemovalMethod | int,
        permanence_years: int,
        vintage: int,
        registry: str,
        project_id: str,
        serial_range: str,
        metadata_cid: str,
        to: str | None = None,
    ) -> tuple[int, TxResult]:
        """Issue a registry batch (registrar only) to ``to`` (default: the controller's inventory).

        Returns the batch id and the transaction.
        """
        for name, value, bits in (
            ("grams", grams, 64),
            ("permanence_years", permanence_years, 16),
            ("vintage", vintage, 16),
            ("method", int(method), 8),
        ):
            if not 0 <= value < 2**bits:
                raise InputError(name, f"must be in [0, 2**{bits}), got {value}")
        terms = (
            grams,
            int(method),
            permanence_years,
            vintage,
            registry,
            project_id,
            serial_range,
            metadata_cid,
        )
        tx = self.sender.transact(
            self.credits, "issueBatch", to_checksum_address(to or self.deployment.controller), terms
        )
        log = _find(tx.logs, _BATCH_ISSUED_TOPIC, self.deployment.credits)
        return _topic_int(log, 1), tx

    def retire(
        self,
        batch_id: int,
        grams: int,
        beneficiary: str,
        bound_receipt: int,
        min_permanence_years: int,
    ) -> tuple[int, TxResult]:
        """Retire from the sender's own balance (RETIRER_ROLE only: the controller; for tests)."""
        tx = self.sender.transact(
            self.credits,
            "retire",
            batch_id,
            grams,
            to_checksum_address(beneficiary),
            bound_receipt,
            min_permanence_years,
        )
        return _topic_int(_find(tx.logs, _RETIRED_TOPIC, self.deployment.credits), 1), tx

    def finalize_retirement(self, retirement_id: int, certificate: str) -> TxResult:
        """Record the registry certificate (registrar only): Pending -> Final."""
        return self.sender.transact(self.credits, "finalizeRetirement", retirement_id, certificate)

    def credit_batch(self, batch_id: int) -> CreditBatch:
        """Read a registry batch."""
        b = self.sender.call(lambda: self.credits.functions.batch(batch_id).call())
        return CreditBatch(batch_id, RemovalMethod(b[0]), *b[1:])

    def retirement(self, retirement_id: int) -> Retirement:
        """Read a retirement record."""
        record, certificate = self.sender.call(
            lambda: self.credits.functions.retirement(retirement_id).call()
        )
        return Retirement(
            retirement_id, record[0], record[1], record[2], RetirementStatus(record[3]), certificate
        )

    def inventory_grams(self, batch_id: int) -> int:
        """Grams of ``batch_id`` the controller holds."""
        return int(self.credits.functions.balanceOf(self.deployment.controller, batch_id).call())

    # --- settlement ----------------------------------------------------------------------
    def _settled(self, tx: TxResult) -> Settlement:
        log = _find(tx.logs, _ISSUED_TOPIC, self.deployment.receipts)
        return Settlement(token_id=_topic_int(log, 1), retirement_id=_topic_int(log, 3), tx=tx)

    def submit_single(self, report: MeteringReport, signatures: Sequence[bytes]) -> Settlement:
        """Settle one asset: retire and mint its receipt atomically."""
        return self._settled(
            self.sender.transact(
                self.controller, "submitSingle", report.as_tuple(), list(signatures)
            )
        )

    def submit_batch(self, report: BatchReport, signatures: Sequence[bytes]) -> Settlement:
        """Settle a batch: one retirement, one batch receipt."""
        return self._settled(
            self.sender.transact(
                self.controller, "submitBatch", report.as_tuple(), list(signatures)
            )
        )

    def claim_asset_receipt(
        self, batch_token_id: int, leaf: Leaf, proof: Sequence[bytes]
    ) -> Settlement:
        """Mint a batch leaf's own receipt to its creator (retires nothing)."""
        return self._settled(
            self.sender.transact(
                self.controller, "claimAssetReceipt", batch_token_id, leaf.as_tuple(), list(proof)
            )
        )

    def verify_asset(self, batch_token_id: int, leaf: Leaf, proof: Sequence[bytes]) -> bool:
        """Whether ``leaf`` is in the settled batch, checked on chain."""
        return bool(
            self.sender.call(
                lambda: self.controller.functions.verifyAsset(
                    batch_token_id, leaf.as_tuple(), list(proof)
                ).call()
            )
        )

    def batch_root(self, batch_token_id: int) -> bytes:
        """Merkle root of a settled batch."""
        return bytes(
            self.sender.call(lambda: self.controller.functions.batchRoot(batch_token_id).call())
        )

    # --- receipts ------------------------------------------------------------------------
    def receipt(self, token_id: int) -> Receipt:
        """Read a receipt token's record, owner and tokenURI."""
        functions = self.receipts.functions
        r = self.sender.call(lambda: functions.record(token_id).call())
        owner = self.sender.call(lambda: functions.ownerOf(token_id).call())
        uri = self.sender.call(lambda: functions.tokenURI(token_id).call())
        asset = self.sender.call(lambda: functions.assetDigestOf(token_id).call())
        flags = r[6]
        return Receipt(
            token_id=token_id,
            owner=owner,
            receipt_digest=bytes(r[0]),
            energy_mj=r[1],
            gross_mg=r[2],
            removed_mg=r[3],
            retirement_id=r[4],
            time=r[5],
            is_batch=bool(flags & 2),
            is_claim=bool(flags & 4),
            asset_digest=None if flags & 2 else bytes(asset),
            token_uri=uri,
        )

    def receipt_exists(self, token_id: int) -> bool:
        """Whether a receipt token exists."""
        return bool(self.receipts.functions.exists(token_id).call())

    # --- admin ---------------------------------------------------------------------------
    def set_policy(self, ratio_bps: int, min_permanence_years: int, threshold: int) -> TxResult:
        """Change the controller policy (admin only)."""
        return self.sender.transact(
            self.controller, "setPolicy", ratio_bps, min_permanence_years, threshold
        )

    def policy(self) -> tuple[int, int, int]:
        """(ratio_bps, min_permanence_years, threshold)."""
        ratio_bps, min_permanence_years, threshold, _paused = (
            self.controller.functions.policy().call()
        )
        return int(ratio_bps), int(min_permanence_years), int(threshold)

    def paused(self) -> bool:
        """Whether settlement and claims are paused."""
        return bool(self.controller.functions.paused().call())

    def pause(self) -> TxResult:
        """Pause settlement and claims (admin only)."""
        return self.sender.transact(self.controller, "pause")

    def unpause(self) -> TxResult:
        """Resume settlement and claims (admin only)."""
        return self.sender.transact(self.controller, "unpause")

    def grant_oracle(self, address: str) -> TxResult:
        """Add an oracle key (admin only)."""
        return self.sender.transact(
            self.controller, "grantRole", keccak(text="ORACLE_ROLE"), to_checksum_address(address)
        )
