"""Deploying the three XCR contracts and wiring their roles."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from xcr_py.chain.contracts import Sender, bytecode, load_artifact
from xcr_py.errors import InputError
from xcr_py.units import MIN_RATIO_BPS

__all__ = ["Deployment", "deploy", "role_id"]

CREDITS_URI = "ipfs://xcr-removal-credits/{id}.json"


def role_id(name: str) -> bytes:
    """AccessControl role id: keccak256 of the role name (``DEFAULT_ADMIN_ROLE`` is zero)."""
    return b"\x00" * 32 if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)


@dataclass(frozen=True)
class Deployment:
    """Where the XCR contracts live on one chain, and the transactions that put them there."""

    chain_id: int
    credits: str
    receipts: str
    controller: str
    deployer: str
    tx_hashes: dict[str, str] = field(default_factory=dict)
    block_number: int = 0

    def contract(self, w3: Web3, name: str) -> Any:
        """A web3 contract object for ``name`` (RemovalCredits, CarbonReceipt, XcrController)."""
        address = {
            "RemovalCredits": self.credits,
            "CarbonReceipt": self.receipts,
            "XcrController": self.controller,
        }[name]
        return w3.eth.contract(address=to_checksum_address(address), abi=load_artifact(name)["abi"])

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        """Inverse of :meth:`to_json`; extra keys (``deployments/<chain-id>.json``) are ignored."""
        known = {f.name for f in fields(cls)}
        missing = {"chain_id", "credits", "receipts", "controller", "deployer"} - set(data)
        if missing:
            raise InputError("deployment", f"missing {', '.join(sorted(missing))}")
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: Path) -> None:
        """Write the deployment as JSON atomically (temp file, then rename)."""
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Deployment:
        """Read a deployment written by :meth:`save`."""
        return cls.from_json(json.loads(path.read_text()))


def _deploy_one(sender: Sender, w3: Web3, name: str, *args: Any) -> tuple[str, str]:
    factory = w3.eth.contract(abi=load_artifact(name)["abi"], bytecode=bytecode(name))
    data = factory.constructor(*args).data_in_transaction
    result = sender.send(None, data)
    assert result.contract_address is not None  # a successful creation always has one
    return result.contract_address, result.tx_hash


def deploy(
    w3: Web3,
    deployer_key: str | bytes,
    oracle_addresses: Sequence[str],
    threshold: int = 1,
    ratio_bps: int = MIN_RATIO_BPS,
    min_permanence_years: int = 100,
    registrar: str | None = None,
) -> Deployment:
    """Deploy RemovalCredits, CarbonReceipt and XcrController and wire their roles.

    The deployer becomes admin of all three; ``registrar`` (default: the deployer) gets
    REGISTRAR_ROLE on the credits; the controller gets RETIRER_ROLE and MINTER_ROLE.

    Raises:
        InputError: a policy value outside its limit (checked before any transaction is sent).
    """
    if not oracle_addresses:
        raise InputError("oracle_addresses", "needs at least 1 oracle address, got 0")
    if not 1 <= threshold <= len(oracle_addresses) or threshold > 255:
        raise InputError(
            "threshold", f"must be in [1, {min(len(oracle_addresses), 255)}], got {threshold}"
        )
    if not MIN_RATIO_BPS <= ratio_bps < 2**32:
        raise InputError("ratio_bps", f"must be in [{MIN_RATIO_BPS}, 2**32), got {ratio_bps}")
    if not 0 <= min_permanence_years < 2**16:
        raise InputError(
            "min_permanence_years", f"must be in [0, 65535], got {min_permanence_years}"
        )
    oracles = [to_checksum_address(a) for a in oracle_addresses]
    sender = Sender(w3, deployer_key)
    me = sender.address
    hashes: dict[str, str] = {}
    start_block = int(w3.eth.block_number) + 1
    credits, hashes["RemovalCredits"] = _deploy_one(sender, w3, "RemovalCredits", me, CREDITS_URI)
    receipts, hashes["CarbonReceipt"] = _deploy_one(sender, w3, "CarbonReceipt", me)
    controller, hashes["XcrController"] = _deploy_one(
        sender,
        w3,
        "XcrController",
        me,
        credits,
        receipts,
        oracles,
        threshold,
        ratio_bps,
        min_permanence_years,
    )
    deployment = Deployment(
        chain_id=int(w3.eth.chain_id),
        credits=credits,
        receipts=receipts,
        controller=controller,
        deployer=me,
        tx_hashes=hashes,
        block_number=start_block,
    )
    credits_c = deployment.contract(w3, "RemovalCredits")
    receipts_c = deployment.contract(w3, "CarbonReceipt")
    grants = (
        ("grant_retirer", credits_c, "RETIRER_ROLE", controller),
        ("grant_minter", receipts_c, "MINTER_ROLE", controller),
        ("grant_registrar", credits_c, "REGISTRAR_ROLE", to_checksum_address(registrar or me)),
    )
    for label, contract, role, account in grants:
        hashes[label] = sender.transact(contract, "grantRole", role_id(role), account).tx_hash
    return deployment
