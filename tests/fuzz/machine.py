"""Stateful property-based test of the deployed XCR contracts (hypothesis RuleBasedStateMachine).

Each example starts from a snapshot of one deployment and runs a random sequence of actions by
honest and hostile accounts: issue credit batches, direct retire attempts, single and batch
settlements (honest and forged), replays, per-asset claims with valid and broken proofs, receipt
and credit transfers, role changes, pause and policy changes. A Python model predicts the outcome
of every action, in the contract's own check order, down to the custom error; after every step
the invariants of DESIGN.md are checked against chain state, not against the model alone: raw
storage slots (:mod:`tests.fuzz.storage`, microseconds each instead of an ``eth_call``) and an
event ledger folded from every log since the snapshot (:meth:`XcrMachine.read_events`), which
also sees accounts the model never heard of:

* removed grams >= ratio x gross emissions, per settlement (its own ratio) and overall;
* each retirement backs exactly one settlement; per-asset claims share their batch's retirement
  and retire nothing;
* one asset digest, at most one per-asset receipt;
* no receipt ever changed owner (every receipt Transfer event is a mint);
* no retirement drew on a batch below the policy minimum permanence at settlement, nor on a
  method outside the removal enum (which refuses out-of-range codes at issuance);
* ERC-1155 conservation per batch: minted (events) = issued (storage) = held by anyone (events)
  + retired (storage); burnt (events) = retired; every holder's storage balance = the ledger's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.fuzz.driver import Log, Reverted
from tests.fuzz.signing import domain_separator, report_digest, sign_digest
from tests.fuzz.storage import fetch, layout
from tests.fuzz.world import MIN_PERMANENCE_YEARS, RATIO_BPS, World
from xcr_py import units
from xcr_py.chain import BATCH_BIT
from xcr_py.oracle import BatchReport, Leaf, MerkleTree, MeteringReport, leaf_hash, verify_proof

__all__ = ["XcrMachine"]

ZERO = "0x" + "00" * 20
ADMIN_ROLE = b"\x00" * 32
ORACLE_ROLE = keccak(text="ORACLE_ROLE")
REGISTRAR_ROLE = keccak(text="REGISTRAR_ROLE")
RETIRER_ROLE = keccak(text="RETIRER_ROLE")
MINTER_ROLE = keccak(text="MINTER_ROLE")
METHODS = 6  # RemovalCredits.RemovalMethod has 6 members (removal only)
U56 = 2**56 - 1
U64 = 2**64 - 1
TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")
TRANSFER_SINGLE_TOPIC = keccak(text="TransferSingle(address,address,address,uint256,uint256)")
TRANSFER_BATCH_TOPIC = keccak(text="TransferBatch(address,address,address,uint256[],uint256[])")
RETIRED_TOPIC = keccak(text="Retired(uint256,uint256,uint256,address,uint256)")
ISSUED_TOPIC = keccak(text="ReceiptIssued(uint256,bytes32,uint256,bytes32,uint256,uint256,uint256)")
HONEST = ("none",) * 10
SIG_FAULTS = (
    "sig:few",
    "sig:dup",
    "sig:unsorted",
    "sig:stranger",
    "sig:wrong_chain",
    "sig:wrong_contract",
)
COMMON_FAULTS = (
    "expired",
    "ratio:-1",
    "batch:unknown",
    "batch:low",
    "batch:small",
    "receipt:zero",
    *SIG_FAULTS,
)
SINGLE_FAULTS = (
    *COMMON_FAULTS,
    "overflow",
    "gross:+1",
    "gross:-1",
    "pue:999",
    "asset:known",
    "asset:flipped",
    "creator:zero",
)
BATCH_FAULTS = (
    *COMMON_FAULTS,
    "sum:under",
    "sum:over",
    "count:+1",
    "count:zero",
    "gross:zero",
    "root:reuse",
    "root:flipped",
    "leaf:known",
    "leaf:zero_creator",
    "leaf:zero_receipt",
    "owner:zero",
)


@dataclass(frozen=True)
class Expect:
    """An expected revert: custom error name and, when the model knows them, its arguments."""

    name: str
    args: tuple[Any, ...] | None = None


@dataclass
class CreditModel:
    """A credit batch: terms and who holds how many grams."""

    method: int
    permanence: int
    issued: int
    held: dict[str, int] = field(default_factory=dict)
    retired: int = 0


@dataclass
class ReceiptModel:
    """A receipt token as the model knows it."""

    token_id: int
    owner: str
    subject: bytes  # asset digest, or the Merkle root of a batch
    receipt_digest: bytes
    energy_mj: int
    gross_mg: int
    removed_mg: int
    retirement_id: int
    kind: str  # "single" | "batch" | "claim"
    ratio_bps: int = 0  # the settlement's own ratio (0 for a claim)
    min_permanence: int = 0  # policy minimum when it settled
    batch_token: int = 0  # for a claim: the batch it came from


@dataclass
class SettledBatch:
    """A settled Merkle batch: its tree and leaves, for claims."""

    token_id: int
    tree: MerkleTree
    retirement_id: int


@dataclass
class Signed:
    """A report with the signatures sent, and what the model knows of each signer."""

    report: MeteringReport | BatchReport
    signatures: list[bytes]
    signers: list[str | None]  # None: a signature over another domain (recovers to a stranger)


def _abi_type(entry: dict[str, Any]) -> str:
    kind = str(entry["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in entry["components"]) + ")" + kind[5:]
    return kind


_SELECTORS: dict[tuple[str, str, int], tuple[bytes, list[str]]] = {}


def encode_call(contract: Any, fn: str, args: Sequence[Any]) -> bytes:
    """Calldata of ``contract.fn(*args)`` (overloads told apart by argument count).

    web3's ``encode_abi`` re-validates the ABI on every call (~9 ms); this caches selector and
    types per function, leaving only eth-abi's encoding.
    """
    key = (contract.address, fn, len(args))
    if key not in _SELECTORS:
        (entry,) = [
            e
            for e in contract.abi
            if e.get("type") == "function" and e["name"] == fn and len(e["inputs"]) == len(args)
        ]
        types = [_abi_type(i) for i in entry["inputs"]]
        _SELECTORS[key] = (keccak(text=f"{fn}({','.join(types)})")[:4], types)
    selector, types = _SELECTORS[key]
    return selector + abi_encode(types, list(args))


def _flip_top(digest: bytes) -> bytes:
    return bytes([digest[0] ^ 0x80]) + digest[1:]


def _token_of_asset(digest: bytes) -> int:
    return int.from_bytes(digest, "big") & (BATCH_BIT - 1)


class XcrMachine(RuleBasedStateMachine):
    """The model plus rules; construct with the :class:`World` to run on."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.w = world
        self.d = world.driver
        self.d.reset()
        world.stats.sequences += 1
        self.now = self.d.timestamp()
        self.counter = 0
        self.credits: dict[int, CreditModel] = {}
        for b in world.initial_batches:
            self.credits[b.batch_id] = CreditModel(
                b.method, b.permanence_years, b.grams, {world.controller.address: b.grams}
            )
        self.retirements: dict[int, tuple[int, int, str, int]] = {}  # id -> batch, g, who, status
        self.receipts: dict[int, ReceiptModel] = {}
        self.batches: dict[int, SettledBatch] = {}
        self.accepted: list[Signed] = []
        self.assets: list[bytes] = []  # digests seen in reports and leaves
        self.refused_tokens: set[int] = set()  # settlements that must not exist
        self.ratio, self.min_perm, self.threshold, self.paused = (
            RATIO_BPS,
            MIN_PERMANENCE_YEARS,
            1,
            False,
        )
        self.oracles = set(world.oracles)
        self.revoked: set[str] = set()
        self.registrars = {world.admin}
        self.keys = {a: k for a, k in zip(world.oracles, world.oracle_keys, strict=True)}
        self.keys[world.stranger] = world.stranger_key
        self.keys[world.spare] = world.spare_key
        # The event ledger (read_events): history since the snapshot, on top of the initial batches.
        self.cursor = self.d.start_block
        self.ev_minted = {b.batch_id: b.grams for b in world.initial_batches}
        self.ev_burnt: dict[int, int] = {}
        self.ev_held = {
            (b.batch_id, world.controller.address): b.grams for b in world.initial_batches
        }
        self.ev_bound: dict[int, int] = {}  # retirement id -> receipt token it was bound to
        self.ev_owner: dict[int, str] = {}  # receipt token -> minted to
        self.ev_assets: dict[bytes, int] = {}  # asset digest -> its one per-asset receipt

    # --- plumbing ---------------------------------------------------------------------------
    def fresh(self) -> bytes:
        """A new 32-byte digest, deterministic within the sequence (top bit set half the time)."""
        self.counter += 1
        return keccak(b"xcr-fuzz" + self.counter.to_bytes(8, "big"))

    def credit_batch(self, fault: str, pick: int) -> int:
        """The credit batch a report names: eligible and stocked, or the one ``fault`` asks for."""
        if fault == "batch:unknown":
            return 0 if pick % 2 else len(self.credits) + 1
        if fault == "batch:low":  # below the current policy minimum, if any batch is
            low = [b for b, m in sorted(self.credits.items()) if m.permanence < self.min_perm]
            return low[pick % len(low)] if low else 2
        if fault == "batch:small":
            return 3  # 3 g
        if fault == "overflow":
            return 4  # 2**64 - 1 g
        eligible = [
            b
            for b, m in sorted(self.credits.items())
            if m.permanence >= self.min_perm and m.held.get(self.w.controller.address, 0) > 10**6
        ]
        return eligible[0] if eligible else 1

    def _enc(self, contract: Any, fn: str, *args: Any) -> bytes:
        return encode_call(contract, fn, args)

    def act(
        self,
        label: str,
        sender: str,
        contract: Any,
        fn: str,
        args: Sequence[Any],
        expected: Expect | None,
    ) -> list[Log] | None:
        """Run one action; the chain must do what the model expects (success or that revert)."""
        self.w.stats.steps += 1
        data = self._enc(contract, fn, *args)
        if expected is None:
            try:
                logs = self.d.send(sender, contract.address, data)
            except Reverted as exc:
                raise AssertionError(
                    f"{label}: the model expected success, chain: {exc.error}"
                ) from None
            self.w.stats.outcomes[f"{label}: ok"] += 1
            return logs
        try:
            self.d.call(sender, contract.address, data)
        except Reverted as exc:
            got = exc.error
            assert got.name == expected.name, f"{label}: expected {expected}, chain: {got}"
            if expected.args is not None:
                assert tuple(got.error_args) == expected.args, f"{label}: {expected} vs {got}"
            self.w.stats.outcomes[f"{label}: {got.name}"] += 1
            return None
        raise AssertionError(f"{label}: the model expected {expected}, the chain accepted it")

    def unauthorized(self, account: str, role: bytes) -> Expect:
        return Expect("AccessControlUnauthorizedAccount", (account, role))

    # --- signatures -------------------------------------------------------------------------
    def sign(self, report: MeteringReport | BatchReport, mode: str, pick: int) -> Signed:
        """Signatures for ``report`` in ``mode`` (honest quorum, too few, duplicate, ...)."""
        sep = domain_separator(self.w.chain_id, self.w.controller.address)
        digest = report_digest(report, sep)
        current = sorted(self.oracles, key=lambda a: int(a, 16))
        k = max(self.threshold, 1)
        chosen: list[str]
        if mode in ("wrong_chain", "wrong_contract"):
            other = (
                domain_separator(self.w.chain_id + 1, self.w.controller.address)
                if mode == "wrong_chain"
                else domain_separator(self.w.chain_id, self.w.credits.address)
            )
            wrong = report_digest(report, other)
            keys = [self.keys[a] for a in current[:k]] or [self.w.oracle_keys[0]]
            return Signed(report, [sign_digest(key, wrong) for key in keys], [None] * len(keys))
        if mode == "few":
            chosen = current[: k - 1]
        elif mode == "dup":
            chosen = (current[:1] or self.w.oracles[:1]) * 2
        elif mode == "unsorted":
            chosen = sorted(
                current[:2] if len(current) >= 2 else self.w.oracles[:2], key=lambda a: -int(a, 16)
            )
        elif mode == "stranger":
            intruder = (
                self.w.stranger if pick % 2 else next(iter(sorted(self.revoked)), self.w.stranger)
            )
            chosen = sorted({*current[: k - 1], intruder}, key=lambda a: int(a, 16))
        else:  # an honest quorum, rotated by `pick` so every oracle signs sometimes
            rotated = (
                current[pick % len(current) :] + current[: pick % len(current)] if current else []
            )
            chosen = sorted(rotated[:k], key=lambda a: int(a, 16))
        return Signed(report, [sign_digest(self.keys[a], digest) for a in chosen], list(chosen))

    def expect_signatures(self, signed: Signed) -> Expect | None:
        """XcrController._checkSignatures, in order."""
        if len(signed.signatures) < self.threshold:
            return Expect("XcrControllerTooFewSignatures", (len(signed.signatures), self.threshold))
        previous = ZERO
        for signer in signed.signers:
            if signer is None:  # recovers to an unrelated address
                return Expect("XcrControllerNotOracle")
            if signer == previous:
                return Expect("XcrControllerDuplicateSigner", (signer,))
            if int(signer, 16) < int(previous, 16):
                return Expect("XcrControllerSignersNotAscending", (previous, signer))
            if signer not in self.oracles:
                return Expect("XcrControllerNotOracle", (signer,))
            previous = signer
        return None

    def expect_settlement(
        self,
        signed: Signed,
        gross: int,
        ratio: int,
        credit_batch: int,
        beneficiary: str,
        token_id: int,
        receipt_digest: bytes,
    ) -> tuple[Expect | None, int]:
        """Common tail of submitSingle / submitBatch: ratio, retire, mint. Returns grams too."""
        if ratio < self.ratio:
            return Expect("XcrControllerRatioBelowPolicy", (ratio, self.ratio)), 0
        grams = units.grams_to_retire(units.required_removal_mg(gross, ratio))
        batch = self.credits.get(credit_batch)
        if batch is None:
            return Expect("RemovalCreditsUnknownBatch", (credit_batch,)), grams
        if batch.permanence < self.min_perm:
            return Expect(
                "RemovalCreditsPermanenceTooLow", (credit_batch, batch.permanence, self.min_perm)
            ), grams
        if grams == 0:
            return Expect("RemovalCreditsZeroRetirement", ()), grams
        available = batch.held.get(self.w.controller.address, 0)
        if available < grams:
            return Expect(
                "RemovalCreditsInsufficientCredits", (credit_batch, available, grams)
            ), grams
        if grams > U56:
            return Expect("SafeCastOverflowedUintDowncast", (56, grams)), grams
        if grams * 1000 > U56:
            return Expect("SafeCastOverflowedUintDowncast", (56, grams * 1000)), grams
        return self.expect_mint(token_id, receipt_digest, beneficiary), grams

    def expect_mint(self, token_id: int, receipt_digest: bytes, to: str) -> Expect | None:
        """CarbonReceipt.mint then ERC721._mint."""
        if token_id in self.receipts:
            return Expect("CarbonReceiptAlreadyIssued", (token_id,))
        if receipt_digest == b"\x00" * 32:
            return Expect("CarbonReceiptEmptyDigest", (token_id,))
        if to == ZERO:
            return Expect("ERC721InvalidReceiver", (ZERO,))
        return None

    def settle(
        self, label: str, sender: str, fn: str, signed: Signed, grams: int, expected: Expect | None
    ) -> bool:
        """Send a settlement; on success record its retirement and balances in the model."""
        report = signed.report
        logs = self.act(
            label, sender, self.w.controller, fn, (report.as_tuple(), signed.signatures), expected
        )
        if logs is None:
            return False
        retirement_id = len(self.retirements) + 1
        beneficiary = report.creator if isinstance(report, MeteringReport) else report.owner
        self.retirements[retirement_id] = (report.credit_batch, grams, beneficiary, 1)
        batch = self.credits[report.credit_batch]
        batch.held[self.w.controller.address] -= grams
        batch.retired += grams
        self.accepted.append(signed)
        issued = [log for log in logs if log.topics[0] == ISSUED_TOPIC]
        assert len(issued) == 1, f"{label}: one ReceiptIssued per settlement, got {len(issued)}"
        assert int.from_bytes(issued[0].topics[3], "big") == retirement_id
        return True

    # --- rules: credits ---------------------------------------------------------------------
    @initialize()
    def start(self) -> None:
        """Nothing to do: the snapshot is the initial state (checked by the invariants)."""

    @rule(
        who=st.sampled_from(["admin", "admin", "admin", "stranger", "spare", "oracle"]),
        method=st.one_of(st.integers(0, METHODS - 1), st.integers(METHODS, 255)),
        permanence=st.sampled_from([0, 1, 50, 99, 100, 101, 1000, 65535]),
        grams=st.sampled_from([0, 1, 2, 999, 10**6, 10**9, 10**12, U64]),
        to_holder=st.booleans(),
    )
    def issue_batch(
        self, who: str, method: int, permanence: int, grams: int, to_holder: bool
    ) -> None:
        """Issue credits: only a registrar, only removal methods, non-empty terms."""
        sender = {
            "admin": self.w.admin,
            "stranger": self.w.stranger,
            "spare": self.w.spare,
            "oracle": self.w.oracles[0],
        }[who]
        to = self.w.holder if to_holder else self.w.controller.address
        terms = (grams, method, permanence, 2024, "Puro.earth", "P-x", "1-n", "bafy-docs")
        expected: Expect | None
        if sender not in self.registrars:
            expected = self.unauthorized(sender, REGISTRAR_ROLE)
        elif method >= METHODS:  # avoidance / conservation / anything else: not representable
            expected = Expect("RemovalCreditsUnknownMethod", (method,))
        elif grams == 0 or permanence == 0:
            expected = Expect("RemovalCreditsInvalidBatch", (grams, permanence))
        else:
            expected = None
        if (
            self.act("issueBatch", sender, self.w.credits, "issueBatch", (to, terms), expected)
            is not None
        ):
            self.credits[len(self.credits) + 1] = CreditModel(
                method, permanence, grams, {to: grams}
            )

    @rule(
        who=st.sampled_from(["admin", "stranger", "holder", "oracle"]),
        pick=st.integers(0, 7),
        grams=st.sampled_from([0, 1, 1000]),
    )
    def direct_retire(self, who: str, pick: int, grams: int) -> None:
        """Nobody but the controller may retire: a retirement must back a receipt."""
        sender = {
            "admin": self.w.admin,
            "stranger": self.w.stranger,
            "holder": self.w.holder,
            "oracle": self.w.oracles[0],
        }[who]
        batch_id = pick % (len(self.credits) + 1) + 1
        self.act(
            "retire",
            sender,
            self.w.credits,
            "retire",
            (batch_id, grams, sender, 1, 0),
            self.unauthorized(sender, RETIRER_ROLE),
        )

    @rule(
        who=st.sampled_from(["holder", "stranger", "controller"]),
        pick=st.integers(0, 7),
        amount=st.sampled_from([0, 1, 10, 10**9]),
        to_controller=st.booleans(),
    )
    def credit_transfer(self, who: str, pick: int, amount: int, to_controller: bool) -> None:
        """ERC-1155 moves: a holder may move its own credits; nobody may move the controller's."""
        batch_id = pick % (len(self.credits) + 1) + 1
        sender = self.w.stranger if who == "stranger" else self.w.holder
        source = {
            "holder": self.w.holder,
            "stranger": self.w.holder,
            "controller": self.w.controller.address,
        }[who]
        to = self.w.controller.address if to_controller else self.w.mallory
        balance = self.credits[batch_id].held.get(source, 0) if batch_id in self.credits else 0
        expected: Expect | None
        if source != sender:
            expected = Expect("ERC1155MissingApprovalForAll", (sender, source))
        elif balance < amount:
            expected = Expect("ERC1155InsufficientBalance", (source, balance, amount, batch_id))
        else:
            expected = None
        args = (source, to, batch_id, amount, b"")
        if (
            self.act(
                "credits.safeTransferFrom",
                sender,
                self.w.credits,
                "safeTransferFrom",
                args,
                expected,
            )
            is not None
            and batch_id in self.credits
        ):
            held = self.credits[batch_id].held
            held[source] = held.get(source, 0) - amount
            held[to] = held.get(to, 0) + amount

    # --- rules: settlement ------------------------------------------------------------------
    @rule(
        fault=st.sampled_from(HONEST + SINGLE_FAULTS),
        creator=st.sampled_from(["holder", "creator_b"]),
        energy=st.sampled_from([3_600_000_000, 3_600_000, 0, 1, 10**13, U64]),
        intensity=st.sampled_from([412_345, 56_000, 0, 1, 2**32 - 1]),
        pue=st.sampled_from([1180, 1000, 3000]),
        embodied=st.sampled_from([12_345, 0, 1, 10**9]),
        ratio_up=st.sampled_from([0, 0, 1, 2_500, 10_000]),
        pick=st.integers(0, 31),
        submitter=st.sampled_from(["stranger", "holder", "admin", "mallory"]),
    )
    def submit_single(
        self,
        fault: str,
        creator: str,
        energy: int,
        intensity: int,
        pue: int,
        embodied: int,
        ratio_up: int,
        pick: int,
        submitter: str,
    ) -> None:
        """Settle one asset: honest, or with one fault (totals, signer, domain, deadline, ...)."""
        digest = self.fresh()
        if fault in ("asset:known", "asset:flipped") and self.assets:
            # prefer an asset that has a receipt: a refused one is not "known" to the chain
            pool = [r.subject for r in self.receipts.values() if r.kind != "batch"] or self.assets
            digest = pool[pick % len(pool)]
            digest = _flip_top(digest) if fault == "asset:flipped" else digest
        self.assets.append(digest)
        pue = 999 if fault == "pue:999" else pue
        if fault == "overflow":  # removal beyond uint56 mg: SafeCast must refuse, not truncate
            energy, intensity, pue, ratio_up = U64, 2**32 - 1, 3000, 10_000 + pick
        computed = units.gross_emissions_mg(energy, intensity, pue, embodied)
        stated = {"gross:+1": computed + 1, "gross:-1": max(computed - 1, 0)}.get(fault, computed)
        report = MeteringReport(
            asset_digest=digest,
            receipt_digest=b"\x00" * 32 if fault == "receipt:zero" else self.fresh(),
            creator=ZERO if fault == "creator:zero" else getattr(self.w, creator),
            energy_mj=energy,
            intensity_mg_per_kwh=intensity,
            pue_milli=pue,
            embodied_mg=embodied,
            gross_mg=min(stated, U64),
            ratio_bps=self.ratio - 1 if fault == "ratio:-1" else self.ratio + ratio_up,
            credit_batch=self.credit_batch(fault, pick),
            deadline=self.now - 1000 if fault == "expired" else self.now + 10 * 86_400,
        )
        signed = self.sign(report, fault[4:] if fault.startswith("sig:") else "ok", pick)
        expected, grams = self.expect_single(signed)
        token = _token_of_asset(digest)
        if self.settle(
            "submitSingle", getattr(self.w, submitter), "submitSingle", signed, grams, expected
        ):
            self.receipts[token] = ReceiptModel(
                token,
                report.creator,
                digest,
                report.receipt_digest,
                energy,
                report.gross_mg,
                grams * 1000,
                len(self.retirements),
                "single",
                report.ratio_bps,
                self.min_perm,
            )
        elif token not in self.receipts:
            self.refused_tokens.add(token)

    def expect_single(self, signed: Signed) -> tuple[Expect | None, int]:
        """XcrController.submitSingle, in order."""
        r = signed.report
        assert isinstance(r, MeteringReport)
        if self.paused:
            return Expect("XcrControllerPaused", ()), 0
        if r.deadline < self.now:
            return Expect("XcrControllerReportExpired"), 0  # args carry the block time
        bad = self.expect_signatures(signed)
        if bad is not None:
            return bad, 0
        if r.pue_milli < 1000:
            return Expect("XcrControllerPueBelowOne", (r.pue_milli,)), 0
        computed = units.gross_emissions_mg(
            r.energy_mj, r.intensity_mg_per_kwh, r.pue_milli, r.embodied_mg
        )
        if computed != r.gross_mg:
            return Expect("XcrControllerGrossMismatch", (r.gross_mg, computed)), 0
        return self.expect_settlement(
            signed,
            r.gross_mg,
            r.ratio_bps,
            r.credit_batch,
            r.creator,
            _token_of_asset(r.asset_digest),
            r.receipt_digest,
        )

    @rule(
        n=st.integers(1, 6),
        fault=st.sampled_from(HONEST + BATCH_FAULTS),
        ratio_up=st.sampled_from([0, 0, 1, 5_000]),
        pick=st.integers(0, 31),
        owner=st.sampled_from(["admin", "holder"]),
    )
    def submit_batch(self, n: int, fault: str, ratio_up: int, pick: int, owner: str) -> None:
        """Settle a Merkle batch of ``n`` leaves, honest or with one fault.

        The contract cannot see the leaves: sums that disagree with them ("sum:under", "sum:over",
        "count:+1") are accepted on chain by design and left to ``xcr verify``; the removal
        invariants then hold for the stated sums.
        """
        leaves = []
        for i in range(n):
            digest = self.fresh()
            if fault == "leaf:known" and self.assets and i == 0:
                digest = self.assets[pick % len(self.assets)]
            creator = (self.w.holder, self.w.creator_b)[i % 2]
            if i == 0 and fault in ("leaf:zero_creator", "leaf:zero_receipt"):
                creator = ZERO if fault == "leaf:zero_creator" else creator
            receipt = b"\x00" * 32 if fault == "leaf:zero_receipt" and i == 0 else self.fresh()
            leaves.append(Leaf(digest, receipt, creator, 1_000_000 * (i + 1), 700 * (i + 1) + pick))
        self.assets.extend(leaf.asset_digest for leaf in leaves)
        tree = MerkleTree(leaves)
        root = tree.root
        if fault in ("root:reuse", "root:flipped") and self.batches:
            old = list(self.batches.values())[pick % len(self.batches)].tree.root
            root = _flip_top(old) if fault == "root:flipped" else old
        gross = sum(leaf.gross_mg for leaf in leaves)
        gross = {"sum:under": gross // 2, "sum:over": gross * 3, "gross:zero": 0}.get(fault, gross)
        report = BatchReport(
            root=root,
            receipt_digest=b"\x00" * 32 if fault == "receipt:zero" else self.fresh(),
            owner=ZERO if fault == "owner:zero" else getattr(self.w, owner),
            leaf_count={"count:zero": 0, "count:+1": n + 1}.get(fault, n),
            energy_mj=sum(leaf.energy_mj for leaf in leaves),
            gross_mg=gross,
            ratio_bps=self.ratio - 1 if fault == "ratio:-1" else self.ratio + ratio_up,
            credit_batch=self.credit_batch(fault, pick),
            deadline=self.now - 1 if fault == "expired" else self.now + 10 * 86_400,
        )
        signed = self.sign(report, fault[4:] if fault.startswith("sig:") else "ok", pick)
        expected, grams = self.expect_batch(signed)
        token = int.from_bytes(root, "big") | BATCH_BIT
        if self.settle("submitBatch", self.w.mallory, "submitBatch", signed, grams, expected):
            self.receipts[token] = ReceiptModel(
                token,
                report.owner,
                root,
                report.receipt_digest,
                report.energy_mj,
                gross,
                grams * 1000,
                len(self.retirements),
                "batch",
                report.ratio_bps,
                self.min_perm,
            )
            if root == tree.root:  # a reused root has no leaves of this tree to prove
                self.batches[token] = SettledBatch(token, tree, len(self.retirements))
        elif token not in self.receipts:
            self.refused_tokens.add(token)

    def expect_batch(self, signed: Signed) -> tuple[Expect | None, int]:
        """XcrController.submitBatch, in order."""
        r = signed.report
        assert isinstance(r, BatchReport)
        if self.paused:
            return Expect("XcrControllerPaused", ()), 0
        if r.deadline < self.now:
            return Expect("XcrControllerReportExpired"), 0
        bad = self.expect_signatures(signed)
        if bad is not None:
            return bad, 0
        if r.leaf_count == 0 or r.gross_mg == 0:
            return Expect("XcrControllerEmptyBatch", (r.leaf_count, r.gross_mg)), 0
        return self.expect_settlement(
            signed,
            r.gross_mg,
            r.ratio_bps,
            r.credit_batch,
            r.owner,
            int.from_bytes(r.root, "big") | BATCH_BIT,
            r.receipt_digest,
        )

    @precondition(lambda self: bool(self.accepted))
    @rule(pick=st.integers(0, 15))
    def replay(self, pick: int) -> None:
        """Resubmit an accepted report verbatim: it must never settle twice."""
        signed = self.accepted[pick % len(self.accepted)]
        single = isinstance(signed.report, MeteringReport)
        expected, grams = self.expect_single(signed) if single else self.expect_batch(signed)
        assert expected is not None, "the model would accept a replay"
        fn = "submitSingle" if single else "submitBatch"
        self.settle(f"replay {fn}", self.w.stranger, fn, signed, grams, expected)

    @rule(
        target_mode=st.sampled_from(["batch"] * 4 + ["asset_token", "unknown"]),
        proof_mode=st.sampled_from(
            ["valid"] * 4 + ["tampered", "short", "other_leaf", "forged_leaf", "node_as_leaf"]
        ),
        pick=st.integers(0, 31),
        claimer=st.sampled_from(["stranger", "holder", "mallory"]),
    )
    def claim(self, target_mode: str, proof_mode: str, pick: int, claimer: str) -> None:
        """Claim a leaf's receipt: valid proofs once, broken proofs never, nodes are not leaves."""
        if not self.batches:
            target_mode = "unknown"
        if target_mode == "batch":
            settled = list(self.batches.values())[pick % len(self.batches)]
            token, root, tree = settled.token_id, settled.tree.root, settled.tree
            leaf = tree.leaves[pick % len(tree.leaves)]
            proof = tree.proof(leaf)
        else:
            singles = [r.token_id for r in self.receipts.values() if r.kind != "batch"]
            token = (
                singles[pick % len(singles)]
                if target_mode == "asset_token" and singles
                else (int.from_bytes(self.fresh(), "big") | BATCH_BIT)
            )
            root, tree = b"", None
            leaf = Leaf(self.fresh(), self.fresh(), self.w.holder, 1, 1)
            proof = []
        broken = False
        if tree is not None and proof_mode != "valid":
            broken = True
            if proof_mode == "tampered" and proof:
                i = pick % len(proof)
                proof = [*proof[:i], bytes([proof[i][0] ^ 1]) + proof[i][1:], *proof[i + 1 :]]
            elif proof_mode == "short" and proof:
                proof = proof[:-1]
            elif proof_mode == "other_leaf" and len(tree.leaves) > 1:
                proof = tree.proof(tree.leaves[(pick + 1) % len(tree.leaves)])
            elif proof_mode == "forged_leaf":
                leaf = replace(leaf, creator=self.w.mallory)  # steal the receipt
            elif proof_mode == "node_as_leaf" and len(tree.leaves) > 1:
                # present the pair of children under the root as if it were a leaf's fields
                leaf = Leaf(tree.node(1), tree.node(2), self.w.mallory, 0, 0)
                proof = []
            else:
                broken = False  # the tree is too small for this mutation
        expected: Expect | None
        if self.paused:
            expected = Expect("XcrControllerPaused", ())
        elif tree is None:
            expected = Expect("XcrControllerUnknownBatch", (token,))
        elif not verify_proof(proof, root, leaf):
            expected = Expect("XcrControllerInvalidProof", (token, leaf_hash(leaf)))
        else:
            expected = self.expect_mint(
                _token_of_asset(leaf.asset_digest), leaf.receipt_digest, leaf.creator
            )
        if broken and not self.paused:
            # a broken proof or leaf must never verify (the Python check agrees with the chain)
            assert expected is not None
        sender = getattr(self.w, claimer)
        args = (token, leaf.as_tuple(), proof)
        if (
            self.act(
                "claimAssetReceipt", sender, self.w.controller, "claimAssetReceipt", args, expected
            )
            is not None
        ):
            asset_token = _token_of_asset(leaf.asset_digest)
            self.receipts[asset_token] = ReceiptModel(
                asset_token,
                leaf.creator,
                leaf.asset_digest,
                leaf.receipt_digest,
                leaf.energy_mj,
                leaf.gross_mg,
                0,
                self.batches[token].retirement_id,
                "claim",
                batch_token=token,
            )

    # Settlement and claims carry the invariants: give them twice the weight of the other rules.
    submit_single_again = submit_single
    submit_batch_again = submit_batch
    claim_again = claim

    # --- rules: receipts are soulbound ------------------------------------------------------
    @rule(
        kind=st.sampled_from(
            [
                "transferFrom",
                "safeTransferFrom",
                "safeTransferFromData",
                "approve",
                "setApprovalForAll",
            ]
        ),
        by_owner=st.booleans(),
        existing=st.sampled_from([True, True, True, False]),
        to_zero=st.sampled_from([False] * 5 + [True]),
        pick=st.integers(0, 31),
    )
    def move_receipt(
        self, kind: str, by_owner: bool, existing: bool, to_zero: bool, pick: int
    ) -> None:
        """Every transfer and approval of a receipt reverts, by its owner or anyone else."""
        if existing and self.receipts:
            token = list(self.receipts)[pick % len(self.receipts)]
            owner: str | None = self.receipts[token].owner
        else:
            token, owner = _token_of_asset(self.fresh()), None
        sender = owner if by_owner and owner is not None else self.w.mallory
        to = ZERO if to_zero else self.w.stranger
        source = owner or sender
        if kind == "setApprovalForAll":
            expected = Expect("CarbonReceiptApprovalDisabled", (sender, to))
            fn, args = kind, (to, True)
        elif kind == "approve":
            expected = (
                Expect("CarbonReceiptApprovalDisabled", (owner, to))
                if owner
                else Expect("ERC721NonexistentToken", (token,))
            )
            fn, args = kind, (to, token)
        else:
            if to == ZERO:
                expected = Expect("ERC721InvalidReceiver", (ZERO,))
            elif owner is not None:
                expected = Expect("CarbonReceiptSoulbound", (token, owner, to))
            else:
                expected = Expect("ERC721NonexistentToken", (token,))
            fn = "safeTransferFrom" if kind.startswith("safe") else "transferFrom"
            args = (
                (source, to, token, b"x") if kind == "safeTransferFromData" else (source, to, token)
            )
        self.act(f"receipt.{kind}", sender, self.w.receipts, fn, args, expected)

    # --- rules: roles, pause, policy --------------------------------------------------------
    @rule(
        who=st.sampled_from(["admin", "admin", "stranger", "oracle"]),
        grant=st.booleans(),
        role=st.sampled_from(["oracle", "registrar", "retirer", "minter", "admin"]),
        whom=st.sampled_from(["spare", "oracle1", "stranger", "oracle0"]),
    )
    def role_change(self, who: str, grant: bool, role: str, whom: str) -> None:
        """Role grants and revocations: only the admin, and only for oracle / registrar here.

        The admin is trusted; the admin handing RETIRER or MINTER to an account is out of scope
        (it would break the invariants by design). Everyone else is refused every role.
        """
        sender = {"admin": self.w.admin, "stranger": self.w.stranger, "oracle": self.w.oracles[0]}[
            who
        ]
        account = {
            "stranger": self.w.stranger,
            "spare": self.w.spare,
            "oracle0": self.w.oracles[0],
            "oracle1": self.w.oracles[1],
        }[whom]
        if sender == self.w.admin and role not in ("oracle", "registrar"):
            return
        contract, role_id = {
            "oracle": (self.w.controller, ORACLE_ROLE),
            "registrar": (self.w.credits, REGISTRAR_ROLE),
            "retirer": (self.w.credits, RETIRER_ROLE),
            "minter": (self.w.receipts, MINTER_ROLE),
            "admin": (self.w.controller, ADMIN_ROLE),
        }[role]
        expected = None if sender == self.w.admin else self.unauthorized(sender, ADMIN_ROLE)
        fn = "grantRole" if grant else "revokeRole"
        if self.act(fn, sender, contract, fn, (role_id, account), expected) is None:
            return
        members = self.oracles if role == "oracle" else self.registrars
        if grant:
            members.add(account)
            self.revoked.discard(account)
        else:
            members.discard(account)
            if role == "oracle":
                self.revoked.add(account)

    @rule(
        who=st.sampled_from(["admin", "admin", "stranger"]),
        pause=st.sampled_from([False, False, True]),
    )
    def pause_toggle(self, who: str, pause: bool) -> None:
        """Pause / unpause: admin only, each only from the other state."""
        sender = self.w.admin if who == "admin" else self.w.stranger
        expected: Expect | None
        if sender != self.w.admin:
            expected = self.unauthorized(sender, ADMIN_ROLE)
        elif pause and self.paused:
            expected = Expect("XcrControllerPaused", ())
        elif not pause and not self.paused:
            expected = Expect("XcrControllerNotPaused", ())
        else:
            expected = None
        fn = "pause" if pause else "unpause"
        if self.act(fn, sender, self.w.controller, fn, (), expected) is not None:
            self.paused = pause

    @rule(
        who=st.sampled_from(["admin", "admin", "admin", "stranger"]),
        ratio=st.sampled_from([10_000, 12_500, 20_000, 10_001, 9_999, 0]),
        min_perm=st.sampled_from([100, 1000, 50, 0]),
        threshold=st.sampled_from([1, 1, 1, 2, 3, 0]),
    )
    def set_policy(self, who: str, ratio: int, min_perm: int, threshold: int) -> None:
        """Policy: admin only; ratio >= 10,000 bps; threshold >= 1."""
        sender = self.w.admin if who == "admin" else self.w.stranger
        expected: Expect | None
        if sender != self.w.admin:
            expected = self.unauthorized(sender, ADMIN_ROLE)
        elif ratio < 10_000:
            expected = Expect("XcrControllerRatioBelowOne", (ratio,))
        elif threshold == 0:
            expected = Expect("XcrControllerInvalidThreshold", (threshold,))
        else:
            expected = None
        if (
            self.act(
                "setPolicy",
                sender,
                self.w.controller,
                "setPolicy",
                (ratio, min_perm, threshold),
                expected,
            )
            is not None
        ):
            self.ratio, self.min_perm, self.threshold = ratio, min_perm, threshold

    @rule(
        who=st.sampled_from(["admin", "admin", "stranger"]),
        pick=st.integers(0, 7),
        empty=st.sampled_from([False] * 4 + [True]),
    )
    def finalize(self, who: str, pick: int, empty: bool) -> None:
        """Pending -> Final by a registrar, once, with a certificate."""
        sender = self.w.admin if who == "admin" else self.w.stranger
        rid = pick % (len(self.retirements) + 1) + 1  # may be one past the last
        status = self.retirements[rid][3] if rid in self.retirements else 0
        expected: Expect | None
        if sender not in self.registrars:
            expected = self.unauthorized(sender, REGISTRAR_ROLE)
        elif status != 1:
            expected = Expect("RemovalCreditsRetirementNotPending", (rid, status))
        elif empty:
            expected = Expect("RemovalCreditsEmptyCertificate", (rid,))
        else:
            expected = None
        cert = "" if empty else f"PURO-CERT-{rid}"
        if (
            self.act(
                "finalizeRetirement",
                sender,
                self.w.credits,
                "finalizeRetirement",
                (rid, cert),
                expected,
            )
            is not None
        ):
            batch, grams, who_, _ = self.retirements[rid]
            self.retirements[rid] = (batch, grams, who_, 2)

    # --- invariants, against chain state ----------------------------------------------------
    def read_events(self) -> None:
        """Fold the logs of blocks mined since the last check into the event ledger.

        The ledger is the chain's own history: every ERC-1155 balance change emits TransferSingle
        / TransferBatch, every receipt move a Transfer, every retirement a Retired, every receipt
        a ReceiptIssued. Holders the model never heard of show up here.
        """
        end = self.d.block_number()
        if end < self.cursor:
            return
        for log in self.d.logs(self.w.credits.address, self.cursor):
            topic = log.topics[0]
            if topic in (TRANSFER_SINGLE_TOPIC, TRANSFER_BATCH_TOPIC):
                source, to = (to_checksum_address(t[12:]) for t in log.topics[2:4])
                if topic == TRANSFER_SINGLE_TOPIC:
                    ids, values = abi_decode(["uint256", "uint256"], log.data)
                    moves = [(ids, values)]
                else:
                    moves = list(
                        zip(*abi_decode(["uint256[]", "uint256[]"], log.data), strict=True)
                    )
                for batch_id, value in moves:
                    if source == ZERO:
                        self.ev_minted[batch_id] = self.ev_minted.get(batch_id, 0) + value
                    else:
                        self.ev_held[(batch_id, source)] = (
                            self.ev_held.get((batch_id, source), 0) - value
                        )
                        assert self.ev_held[(batch_id, source)] >= 0, (
                            f"batch {batch_id}: {source} went negative"
                        )
                    if to == ZERO:
                        self.ev_burnt[batch_id] = self.ev_burnt.get(batch_id, 0) + value
                    else:
                        self.ev_held[(batch_id, to)] = self.ev_held.get((batch_id, to), 0) + value
            elif topic == RETIRED_TOPIC:
                rid, bound = (
                    int.from_bytes(log.topics[1], "big"),
                    int.from_bytes(log.topics[3], "big"),
                )
                assert rid not in self.ev_bound, f"retirement {rid} created twice"
                self.ev_bound[rid] = bound
        for log in self.d.logs(self.w.receipts.address, self.cursor):
            topic = log.topics[0]
            if topic == TRANSFER_TOPIC:
                source, to = (to_checksum_address(t[12:]) for t in log.topics[1:3])
                token = int.from_bytes(log.topics[3], "big")
                assert source == ZERO, f"receipt {token:#x} moved from {source} to {to}"
                assert token not in self.ev_owner, f"receipt {token:#x} minted twice"
                self.ev_owner[token] = to
            elif topic == ISSUED_TOPIC:
                token, subject = int.from_bytes(log.topics[1], "big"), log.topics[2]
                if token < BATCH_BIT:  # a per-asset receipt (single or claimed)
                    assert subject not in self.ev_assets, f"asset {subject.hex()} has two receipts"
                    self.ev_assets[subject] = token
        self.cursor = end + 1

    @invariant()
    def chain_agrees(self) -> None:
        """Read chain storage and history and check every invariant (see the module docstring)."""
        self.w.stats.checks += 1
        self.read_events()
        w = self.w
        credits, receipts, controller = w.credits.address, w.receipts.address, w.controller.address
        cl, rl, xl = layout("RemovalCredits"), layout("CarbonReceipt"), layout("XcrController")
        batch_ids = sorted(self.credits)
        rids = sorted(self.retirements)
        tokens = sorted(
            self.ev_owner
        )  # the chain's own list of receipts: every mint emitted Transfer
        refused = sorted(self.refused_tokens - set(tokens))
        holders = sorted({a for _, a in self.ev_held} | set(w.accounts) | {controller})
        reads = [
            cl.read(credits, "_batchCount"),
            cl.read(credits, "_retirementCount"),
            xl.read(controller, "_policy"),
        ]
        reads += [cl.read(credits, "_batches", b) for b in batch_ids]
        reads += [cl.read(credits, "_retirements", r) for r in rids]
        reads += [rl.read(receipts, "_owners", t) for t in tokens + refused]
        reads += [rl.read(receipts, "_records", t) for t in tokens]
        reads += [cl.read(credits, "_balances", b, a) for b in batch_ids for a in holders]
        out = iter(fetch(self.d, reads))
        batch_count, retirement_count, policy = next(out), next(out), next(out)
        batches = {b: next(out) for b in batch_ids}
        retirements = {r: next(out) for r in rids}
        owners = {t: next(out) for t in tokens + refused}
        records = {t: next(out) for t in tokens}
        balances = {(b, a): next(out) for b in batch_ids for a in holders}

        # The model and the chain agree on counts, policy and the set of receipts.
        assert (batch_count, retirement_count) == (len(batch_ids), len(rids)), (
            "batch / retirement count"
        )
        assert batch_ids == list(range(1, batch_count + 1)) and rids == list(
            range(1, retirement_count + 1)
        )
        assert (
            policy["ratioBps"],
            policy["minPermanenceYears"],
            policy["threshold"],
            policy["paused"],
        ) == (self.ratio, self.min_perm, self.threshold, self.paused), f"policy {policy}"
        assert set(tokens) == set(self.receipts), "receipts on chain differ from the model's"
        assert all(owners[t] == ZERO for t in refused), "a refused settlement left a receipt behind"

        # Credit batches: only removal methods exist; terms as issued.
        for b, batch in batches.items():
            model = self.credits[b]
            assert batch["method"] < METHODS, (
                f"batch {b}: method {batch['method']} is not a removal method"
            )
            assert (batch["method"], batch["permanenceYears"], batch["issuedGrams"]) == (
                model.method,
                model.permanence,
                model.issued,
            ), f"batch {b} terms"

        # Retirements as settled, each bound (Retired event) to the receipt that records it.
        retired_by_batch: dict[int, int] = {}
        for r, ret in retirements.items():
            batch_m, grams_m, beneficiary_m, status_m = self.retirements[r]
            assert (ret["batchId"], ret["grams"], ret["beneficiary"], ret["status"]) == (
                batch_m,
                grams_m,
                to_checksum_address(beneficiary_m),
                status_m,
            ), f"retirement {r}: {ret}"
            retired_by_batch[ret["batchId"]] = (
                retired_by_batch.get(ret["batchId"], 0) + ret["grams"]
            )
        assert sorted(self.ev_bound) == rids, "every retirement has exactly one Retired event"

        # Receipts: owner never changed, record as settled, removal >= ratio x gross.
        backing: dict[int, int] = {}  # retirement id -> the one settlement receipt it backs
        total_removed = total_required = total_gross = 0
        for t in tokens:
            m, rec = self.receipts[t], records[t]
            assert owners[t] == self.ev_owner[t] == to_checksum_address(m.owner), (
                f"receipt {t:#x} changed owner"
            )
            assert (
                rec["receiptDigest"],
                rec["energyMj"],
                rec["grossMg"],
                rec["removedMg"],
                rec["retirementId"],
            ) == (m.receipt_digest, m.energy_mj, m.gross_mg, m.removed_mg, m.retirement_id), (
                f"receipt {t:#x}: {rec}"
            )
            flags = rec["flags"]
            assert bool(flags & 2) == (m.kind == "batch") and bool(flags & 4) == (m.kind == "claim")
            assert bool(flags & 1) == bool(m.subject[0] & 0x80)
            rid = rec["retirementId"]
            assert 1 <= rid <= retirement_count, f"receipt {t:#x}: retirement {rid} does not exist"
            if m.kind == "claim":
                # a claim retires nothing and shares its batch's retirement
                assert rec["removedMg"] == 0 and rid == records[m.batch_token]["retirementId"]
                continue
            assert rid not in backing, f"retirement {rid} backs two receipts"
            backing[rid] = t
            assert self.ev_bound[rid] == t, (
                f"retirement {rid} was bound to {self.ev_bound[rid]:#x}, not {t:#x}"
            )
            ret = retirements[rid]
            assert rec["removedMg"] == ret["grams"] * 1000, "removed mg is the retirement's grams"
            required = units.required_removal_mg(rec["grossMg"], m.ratio_bps)
            assert m.ratio_bps >= 10_000 and rec["removedMg"] >= required, (
                f"receipt {t:#x} under-retired"
            )
            batch = batches[ret["batchId"]]
            assert batch["method"] < METHODS, "a non-removal batch backed a receipt"
            assert batch["permanenceYears"] >= m.min_permanence, (
                "a low-permanence batch backed a receipt"
            )
            total_removed += rec["removedMg"]
            total_required += required
            total_gross += rec["grossMg"]
        assert sorted(backing) == rids, "a retirement backs no receipt"
        assert total_removed >= total_required >= total_gross, (
            "total removal below ratio x total gross"
        )

        # ERC-1155 conservation per batch: issued = held by anyone (events) + retired (storage);
        # storage balances equal the event ledger for every holder ever seen, and the model's.
        for b in batch_ids:
            model = self.credits[b]
            held = sum(v for (bb, _), v in self.ev_held.items() if bb == b)
            retired = retired_by_batch.get(b, 0)
            assert self.ev_minted.get(b, 0) == model.issued == held + retired, (
                f"batch {b} does not conserve"
            )
            assert self.ev_burnt.get(b, 0) == retired == model.retired, (
                f"batch {b}: burnt != retired"
            )
            for a in holders:
                assert balances[(b, a)] == self.ev_held.get((b, a), 0) == model.held.get(a, 0), (
                    f"batch {b}: balance of {a}"
                )
        if w.crosscheck_views:
            self.crosscheck_views(tokens, rids, records, owners, retirements, policy)

    def crosscheck_views(
        self,
        tokens: list[int],
        rids: list[int],
        records: dict[int, Any],
        owners: dict[int, str],
        retirements: dict[int, Any],
        policy: dict[str, Any],
    ) -> None:
        """The storage reader agrees with the view functions (slow; a test enables it)."""
        w = self.w
        items = [(w.controller.address, self._enc(w.controller, "policy"))]
        items += [(w.receipts.address, self._enc(w.receipts, "record", t)) for t in tokens]
        items += [(w.receipts.address, self._enc(w.receipts, "ownerOf", t)) for t in tokens]
        items += [(w.credits.address, self._enc(w.credits, "retirement", r)) for r in rids]
        out = iter(self.d.reads(items))
        assert abi_decode(["(uint32,uint16,uint8,bool)"], next(out))[0] == (
            policy["ratioBps"],
            policy["minPermanenceYears"],
            policy["threshold"],
            policy["paused"],
        )
        for t in tokens:
            view = abi_decode(["(bytes32,uint64,uint64,uint56,uint32,uint32,uint8)"], next(out))[0]
            rec = records[t]
            assert view == (
                rec["receiptDigest"],
                rec["energyMj"],
                rec["grossMg"],
                rec["removedMg"],
                rec["retirementId"],
                rec["time"],
                rec["flags"],
            )
        for t in tokens:
            assert to_checksum_address(abi_decode(["address"], next(out))[0]) == owners[t]
        for r in rids:
            view = abi_decode(["(address,uint32,uint56,uint8)", "string"], next(out))[0]
            ret = retirements[r]
            assert (to_checksum_address(view[0]), *view[1:]) == (
                ret["beneficiary"],
                ret["batchId"],
                ret["grams"],
                ret["status"],
            )
        w.stats.crosschecks += 1
