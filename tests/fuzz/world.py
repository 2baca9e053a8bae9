"""One deployed XCR system the state machine runs on, its actors, and run statistics.

The deployment (three contracts, roles wired, three credit batches) is made once per backend
through the production path (:func:`xcr_py.chain.deploy`, :class:`xcr_py.chain.XcrGateway`); the
driver then snapshots it, and every example starts from that snapshot.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from web3 import Web3

from tests.fuzz.driver import Driver
from xcr_py.chain import RemovalMethod, XcrGateway, deploy

__all__ = ["InitialBatch", "Stats", "World", "build_world"]


@dataclass(frozen=True)
class InitialBatch:
    """A credit batch issued before the snapshot (units: grams CO2e, years)."""

    batch_id: int
    method: int
    permanence_years: int
    grams: int


INITIAL_BATCHES = (
    (10**12, RemovalMethod.BIOCHAR, 1000),  # plenty, eligible
    (10**6, RemovalMethod.ENHANCED_WEATHERING, 50),  # below the 100-year policy minimum
    (3, RemovalMethod.DIRECT_AIR_CAPTURE, 10_000),  # eligible but only 3 g
    (2**64 - 1, RemovalMethod.BECCS, 500),  # enough to overflow a receipt's uint56 mg
)
MIN_PERMANENCE_YEARS = 100
RATIO_BPS = 10_000


@dataclass
class Stats:
    """What the fuzzer did: sequences, steps, actions by outcome, seconds."""

    sequences: int = 0
    steps: int = 0
    checks: int = 0  # invariant checks (one after every step)
    crosschecks: int = 0  # of which also compared with the view functions
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class World:
    """The deployment and its actors. Addresses are checksummed."""

    driver: Driver
    chain_id: int
    credits: Any  # web3 contract objects, used only to encode calls
    receipts: Any
    controller: Any
    admin: str  # admin of all three contracts and registrar
    oracle_keys: list[str]
    stranger_key: str  # a hostile key that starts with no role
    holder: str  # creator of most assets
    creator_b: str
    mallory: str  # a second hostile account
    spare: str  # may be made registrar or oracle by the admin
    spare_key: str
    initial_batches: tuple[InitialBatch, ...]
    oracles: list[str] = field(default_factory=list)  # addresses of oracle_keys
    stranger: str = ""  # address of stranger_key
    stats: Stats = field(default_factory=Stats)
    crosscheck_views: bool = False  # also compare storage reads with view functions (slow)

    @property
    def accounts(self) -> list[str]:
        """Every externally owned account the machine acts with (credit holders included)."""
        return [
            self.admin,
            *self.oracles,
            self.stranger,
            self.holder,
            self.creator_b,
            self.mallory,
            self.spare,
        ]


def build_world(w3: Web3, keys: list[str], driver: Driver) -> World:
    """Deploy (keys[0] admin + registrar, keys[1:4] oracles, threshold 1), issue, snapshot."""
    address = [Account.from_key(k).address for k in keys]
    deployment = deploy(
        w3,
        keys[0],
        address[1:4],
        threshold=1,
        ratio_bps=RATIO_BPS,
        min_permanence_years=MIN_PERMANENCE_YEARS,
    )
    admin = XcrGateway(w3, deployment, keys[0])
    batches = []
    for grams, method, permanence in INITIAL_BATCHES:
        batch_id, _ = admin.issue_batch(
            grams, method, permanence, 2024, "Puro.earth", "P-1", "1-n", "bafy-docs"
        )
        batches.append(InitialBatch(batch_id, int(method), permanence, grams))
    driver.snapshot()
    return World(
        driver=driver,
        chain_id=deployment.chain_id,
        credits=admin.credits,
        receipts=admin.receipts,
        controller=admin.controller,
        admin=address[0],
        oracle_keys=list(keys[1:4]),
        stranger_key=keys[4],
        holder=address[5],
        creator_b=address[6],
        mallory=address[7],
        spare=address[8],
        spare_key=keys[8],
        initial_batches=tuple(batches),
        oracles=address[1:4],
        stranger=address[4],
    )
