"""Shared set-up for the client and pipeline tests: a deployed system and a tracker on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from xcr_py.chain import Deployment, RemovalMethod, XcrGateway, deploy
from xcr_py.config import XcrConfig, load_config
from xcr_py.content.store import BlockStore
from xcr_py.meter import EstimateBackend, EstimateSpec, Meter
from xcr_py.oracle.keys import OracleQuorum, OracleSigner
from xcr_py.oracle.outbox import Outbox, RetryPolicy

CREDIT_GRAMS = 10**9


@dataclass
class System:
    """One deployed XCR system and the keys around it."""

    w3: Web3
    deployment: Deployment
    admin: XcrGateway
    submitter_key: str
    oracle_keys: list[str]
    credit_batch: int

    def quorum(self, threshold: int = 1) -> OracleQuorum:
        return OracleQuorum([OracleSigner.from_private_key(k) for k in self.oracle_keys],
                            threshold)

    def gateway(self) -> XcrGateway:
        return XcrGateway(self.w3, self.deployment, self.submitter_key)


def deploy_system(w3: Web3, keys: list[str], *, threshold: int = 1,
                  ratio_bps: int = 10_000) -> System:
    """keys[0]: admin/registrar, keys[1:3]: oracles, keys[3]: submitter. Issues credits:
    a low-permanence batch first (ineligible), then a DAC batch with plenty of grams."""
    admin_key, oracle_keys, submitter = keys[0], keys[1:3], keys[3]
    oracles = [Account.from_key(k).address for k in oracle_keys]
    deployment = deploy(w3, admin_key, oracles, threshold=threshold, ratio_bps=ratio_bps,
                        min_permanence_years=100)
    admin = XcrGateway(w3, deployment, admin_key)
    admin.issue_batch(CREDIT_GRAMS, RemovalMethod.BIOCHAR, 50, 2024, "TestRegistry",
                      "LOW-PERM-1", "1-1000", "bafkqaaa")
    good, _ = admin.issue_batch(CREDIT_GRAMS, RemovalMethod.DIRECT_AIR_CAPTURE, 1000, 2025,
                                "TestRegistry", "DAC-1", "1-1000000000", "bafkqaaa")
    return System(w3, deployment, admin, submitter, list(oracle_keys), good)


def make_config(tmp: Path, **overrides: Any) -> XcrConfig:
    """A config with its data dir in ``tmp`` and a constant intensity."""
    base: dict[str, Any] = {"chain.data_dir": str(tmp / "data"),
                            "footprint.intensity_mg_per_kwh": 400_000,
                            "footprint.pue_milli": 1_200}
    base.update(overrides)
    return load_config(env={}, overrides=base, cwd=tmp)


def estimate_meter(tdp_w: float = 300.0) -> Meter:
    """A meter that integrates a declared power (no hardware needed)."""
    return Meter([EstimateBackend([EstimateSpec("gpu:0", tdp_w=tdp_w)])])


def fast_outbox(path: Path) -> Outbox:
    """An outbox whose transient retries come back quickly (tests)."""
    return Outbox(path, policy=RetryPolicy(base_s=0.01, cap_s=0.05, max_attempts=4))


def asset_bytes(i: int, size: int = 1024) -> bytes:
    """Distinct deterministic asset bytes (PNG magic so the media type is inferred)."""
    head = b"\x89PNG\r\n\x1a\n" + i.to_bytes(8, "big")
    return (head * (size // len(head) + 1))[:size]


def store_has_pin(store: BlockStore, cid: str) -> bool:
    """Whether ``cid`` is pinned in ``store``."""
    return cid in {str(c) for c in store.pins()}
