"""Shared set-up for the contract tests: one deployment per backend, report builders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from xcr_py import units
from xcr_py.chain import Deployment, RemovalMethod, XcrGateway, deploy
from xcr_py.errors import ContractRevert
from xcr_py.oracle import BatchReport, Domain, Leaf, MeteringReport, sign_all

BIG_BATCH_GRAMS = 10**12


@dataclass
class Env:
    """One deployed XCR system on one backend, with the keys that act on it."""

    backend: str
    w3: Web3
    deployment: Deployment
    admin: XcrGateway  # admin + registrar
    stranger: XcrGateway  # holds no role
    holder: XcrGateway  # a creator account that owns receipts
    oracle_keys: list[str]
    stranger_key: str
    batch_ok: int  # biochar, 1000 years, plenty of grams
    batch_low: int  # permanence below the 100-year policy minimum
    batch_small: int  # only 3 grams

    @property
    def domain(self) -> Domain:
        return self.admin.domain

    @property
    def oracle_addresses(self) -> list[str]:
        return [Account.from_key(k).address for k in self.oracle_keys]

    def deadline(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"]) + 3600


def make_env(backend: str, w3: Web3, keys: list[str]) -> Env:
    """Deploy with keys[0] as admin/registrar, keys[1:4] as oracles (threshold 1)."""
    admin_key, oracle_keys, stranger_key, holder_key = keys[0], keys[1:4], keys[4], keys[5]
    oracles = [Account.from_key(k).address for k in oracle_keys]
    deployment = deploy(
        w3, admin_key, oracles, threshold=1, ratio_bps=10_000, min_permanence_years=100
    )
    admin = XcrGateway(w3, deployment, admin_key)
    ok, _ = admin.issue_batch(
        BIG_BATCH_GRAMS,
        RemovalMethod.BIOCHAR,
        1000,
        2024,
        "Puro.earth",
        "PURO-1",
        "1-1000000000000",
        "bafy-docs",
    )
    low, _ = admin.issue_batch(
        10**6,
        RemovalMethod.ENHANCED_WEATHERING,
        50,
        2024,
        "Isometric",
        "ISO-9",
        "1-1000000",
        "bafy-docs",
    )
    small, _ = admin.issue_batch(
        3,
        RemovalMethod.DIRECT_AIR_CAPTURE,
        10_000,
        2025,
        "Puro.earth",
        "PURO-2",
        "1-3",
        "bafy-docs",
    )
    return Env(
        backend=backend,
        w3=w3,
        deployment=deployment,
        admin=admin,
        stranger=XcrGateway(w3, deployment, stranger_key),
        holder=XcrGateway(w3, deployment, holder_key),
        oracle_keys=list(oracle_keys),
        stranger_key=stranger_key,
        batch_ok=ok,
        batch_low=low,
        batch_small=small,
    )


def digest() -> bytes:
    """A fresh random 32-byte digest (tests never reuse assets by accident)."""
    return os.urandom(32)


def single_report(env: Env, **overrides: Any) -> MeteringReport:
    """A valid single report for a fresh asset owned by the holder; ``overrides`` replace fields."""
    fields: dict[str, Any] = {
        "asset_digest": digest(),
        "receipt_digest": digest(),
        "creator": env.holder.sender.address,
        "energy_mj": 3_600_000_000,  # 1 kWh
        "intensity_mg_per_kwh": 412_345,
        "pue_milli": 1_180,
        "embodied_mg": 12_345,
        "ratio_bps": 10_000,
        "credit_batch": env.batch_ok,
        "deadline": env.deadline(),
    }
    fields.update({k: v for k, v in overrides.items() if k != "gross_mg"})
    fields["gross_mg"] = overrides.get(
        "gross_mg",
        units.gross_emissions_mg(
            fields["energy_mj"],
            fields["intensity_mg_per_kwh"],
            fields["pue_milli"],
            fields["embodied_mg"],
        ),
    )
    return MeteringReport(**fields)


def leaves(env: Env, n: int) -> list[Leaf]:
    """``n`` random leaves created by the holder."""
    return [
        Leaf(digest(), digest(), env.holder.sender.address, 1_000_000 * (i + 1), 500 * (i + 1))
        for i in range(n)
    ]


def batch_report(env: Env, batch_leaves: list[Leaf], root: bytes, **overrides: Any) -> BatchReport:
    """A valid batch report over ``batch_leaves`` with Merkle ``root``."""
    fields: dict[str, Any] = {
        "root": root,
        "receipt_digest": digest(),
        "owner": env.admin.sender.address,
        "leaf_count": len(batch_leaves),
        "energy_mj": sum(leaf.energy_mj for leaf in batch_leaves),
        "gross_mg": sum(leaf.gross_mg for leaf in batch_leaves),
        "ratio_bps": 10_000,
        "credit_batch": env.batch_ok,
        "deadline": env.deadline(),
    }
    fields.update(overrides)
    return BatchReport(**fields)


def signed(env: Env, report: MeteringReport | BatchReport, n: int = 1) -> list[bytes]:
    """Signatures by the first ``n`` oracles, in the order the contract wants."""
    return sign_all(report, env.domain, env.oracle_keys[:n])


@dataclass
class Caught:
    """Filled in by :func:`reverts` once the block has raised."""

    error: ContractRevert | None = None


@contextmanager
def reverts(name: str) -> Iterator[Caught]:
    """Expect a ContractRevert whose decoded custom error is ``name``."""
    caught = Caught()
    with pytest.raises(ContractRevert) as info:
        yield caught
    caught.error = info.value
    assert info.value.name == name, f"expected {name}, got {info.value}"
