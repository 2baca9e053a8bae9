"""Stateful fuzzing of the XCR contracts (issue 8): the state machine on eth-tester and anvil.

CI budget (docs/fuzzing.md): 500 derandomized sequences on the embedded chain, 200 on anvil, the
storage reader cross-checked against the view functions, and three deliberately broken machines
that the invariants must catch, so they are not vacuous.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from tests.fuzz.machine import (
    MINTER_ROLE,
    RETIRER_ROLE,
    CreditModel,
    ReceiptModel,
    XcrMachine,
    encode_call,
)
from tests.fuzz.runner import run_machine
from tests.fuzz.signing import domain_separator, report_digest, sign_digest
from tests.fuzz.world import World
from xcr_py.chain import BATCH_BIT
from xcr_py.oracle import Domain, MeteringReport, sign

EMBEDDED_SEQUENCES = 500
ANVIL_SEQUENCES = 200
STEPS = 10
"""Steps per sequence (at most): see docs/fuzzing.md for the CI budget on this 2-core machine."""

# Outcomes a healthy run of the CI budget must reach, as (actions, outcome): every kind of action
# succeeds somewhere, and the attacks are refused by the check meant for them (not by an earlier,
# incidental one). Actions are "|"-separated alternatives.
MUST_REACH = (
    ("submitSingle", "ok"),
    ("submitBatch", "ok"),
    ("claimAssetReceipt", "ok"),
    ("issueBatch", "ok"),
    ("finalizeRetirement", "ok"),
    ("credits.safeTransferFrom", "ok"),
    ("pause", "ok"),
    ("setPolicy", "ok"),
    ("grantRole|revokeRole", "ok"),
    ("replay submitSingle", "CarbonReceiptAlreadyIssued"),
    ("replay submitBatch", "CarbonReceiptAlreadyIssued"),
    (
        "submitSingle",
        "CarbonReceiptAlreadyIssued",
    ),  # a known asset, or one differing in its top bit
    ("submitSingle", "XcrControllerGrossMismatch"),
    ("submitSingle|submitBatch", "XcrControllerNotOracle"),
    ("submitSingle|submitBatch", "RemovalCreditsPermanenceTooLow"),
    ("submitSingle|submitBatch", "XcrControllerDuplicateSigner"),
    ("submitSingle|submitBatch", "XcrControllerSignersNotAscending"),
    ("submitSingle|submitBatch", "XcrControllerTooFewSignatures"),
    ("submitSingle|submitBatch", "XcrControllerReportExpired"),
    ("claimAssetReceipt", "XcrControllerInvalidProof"),
    ("retire", "AccessControlUnauthorizedAccount"),
    ("issueBatch", "RemovalCreditsUnknownMethod"),
    ("issueBatch", "AccessControlUnauthorizedAccount"),
    (
        "receipt.transferFrom|receipt.safeTransferFrom|receipt.safeTransferFromData",
        "CarbonReceiptSoulbound",
    ),
    ("receipt.approve|receipt.setApprovalForAll", "CarbonReceiptApprovalDisabled"),
    ("credits.safeTransferFrom", "ERC1155MissingApprovalForAll"),
)


def test_fast_signatures_match_the_oracle(embedded_world: World) -> None:
    """The fuzzer's direct EIP-712 hashing signs the same bytes as xcr_py.oracle."""
    w = embedded_world
    report = MeteringReport(
        asset_digest=b"\x81" * 32,
        receipt_digest=b"\x02" * 32,
        creator=w.holder,
        energy_mj=3_600_000,
        intensity_mg_per_kwh=412_345,
        pue_milli=1180,
        embodied_mg=12_345,
        gross_mg=12_832,
        ratio_bps=10_000,
        credit_batch=1,
        deadline=2**40,
    )
    key = w.oracle_keys[0]
    fast = sign_digest(
        key, report_digest(report, domain_separator(w.chain_id, w.controller.address))
    )
    assert fast == sign(report, Domain(w.chain_id, w.controller.address), key)


# anvil runs fewer sequences and its addresses differ (signer order, so the paths taken differ):
# it must reach the core of the above, not every corner.
ANVIL_MUST_REACH = (
    ("submitSingle", "ok"),
    ("submitBatch", "ok"),
    ("claimAssetReceipt", "ok"),
    ("replay submitSingle|replay submitBatch", "CarbonReceiptAlreadyIssued"),
    ("claimAssetReceipt", "XcrControllerInvalidProof"),
    ("retire", "AccessControlUnauthorizedAccount"),
    ("receipt.approve|receipt.setApprovalForAll", "CarbonReceiptApprovalDisabled"),
)


def _check_run(run: Any, sequences: int, must_reach: tuple[tuple[str, str], ...]) -> None:
    stats = run.stats
    assert run.sequences >= sequences
    assert stats.checks >= stats.steps > sequences  # the invariants ran after every step
    missing = [
        f"{actions}: {outcome}"
        for actions, outcome in must_reach
        if not any(stats.outcomes[f"{a}: {outcome}"] for a in actions.split("|"))
    ]
    assert not missing, f"the fuzzer never reached: {missing}"


def test_embedded_sequences(embedded_world: World) -> None:
    """500 derandomized sequences on eth-tester: every outcome as modelled, invariants hold."""
    run = run_machine(embedded_world, EMBEDDED_SEQUENCES, STEPS)
    _check_run(run, EMBEDDED_SEQUENCES, MUST_REACH)


def test_anvil_sequences(anvil_world: World) -> None:
    """The same machine on a real node (anvil), with its own snapshots."""
    run = run_machine(anvil_world, ANVIL_SEQUENCES, STEPS)
    _check_run(run, ANVIL_SEQUENCES, ANVIL_MUST_REACH)


def test_storage_reader_agrees_with_views(embedded_world: World) -> None:
    """The invariants read raw storage: after every step of 20 sequences it equals the views."""
    embedded_world.crosscheck_views = True
    try:
        run = run_machine(embedded_world, 20, STEPS)
    finally:
        embedded_world.crosscheck_views = False
    assert run.stats.crosschecks == run.stats.checks > 20


# --- deliberately broken machines: the invariants must catch each --------------------------------


class RogueRetirement(XcrMachine):
    """The admin hands itself RETIRER_ROLE and retires credits outside any settlement."""

    @rule(grams=st.integers(1, 9))
    def rogue_retire(self, grams: int) -> None:
        w = self.w
        self.d.send(
            w.admin, w.credits.address, encode_call(w.credits, "grantRole", (RETIRER_ROLE, w.admin))
        )
        terms = (100, 1, 1000, 2024, "Puro.earth", "P-r", "1-n", "bafy-docs")
        self.d.send(
            w.admin, w.credits.address, encode_call(w.credits, "issueBatch", (w.admin, terms))
        )
        batch_id = len(self.credits) + 1
        self.d.send(
            w.admin,
            w.credits.address,
            encode_call(w.credits, "retire", (batch_id, grams, w.admin, 0, 0)),
        )
        # The model records honestly what happened: only the invariants can object.
        self.credits[batch_id] = CreditModel(1, 1000, 100, {w.admin: 100 - grams}, grams)
        self.retirements[len(self.retirements) + 1] = (batch_id, grams, w.admin, 1)


class RogueMint(XcrMachine):
    """The admin hands MINTER_ROLE to an attacker, who mints a receipt no retirement backs."""

    @rule()
    def rogue_mint(self) -> None:
        w = self.w
        self.d.send(
            w.admin,
            w.receipts.address,
            encode_call(w.receipts, "grantRole", (MINTER_ROLE, w.mallory)),
        )
        token = int.from_bytes(self.fresh(), "big") & (BATCH_BIT - 1)  # an asset token
        subject = token.to_bytes(32, "big")
        record = (b"\x07" * 32, 1, 1_000_000, 0, 0, 0, 0)  # backed by "retirement 0"
        self.d.send(
            w.mallory,
            w.receipts.address,
            encode_call(w.receipts, "mint", (w.mallory, token, subject, record)),
        )
        self.receipts[token] = ReceiptModel(
            token, w.mallory, subject, b"\x07" * 32, 1, 1_000_000, 0, 0, "single", 10_000, 0
        )


class UnderRetirement(XcrMachine):
    """A settlement retired a third of what its report asked for.

    The chain refuses to do this, so the broken part here is the record of the report: after an
    honest settlement the model remembers the signed ratio as three times what was settled.
    """

    @rule()
    def under_retire(self) -> None:
        before = set(self.receipts)
        self.submit_single(
            fault="none",
            creator="holder",
            energy=3_600_000_000,
            intensity=412_345,
            pue=1180,
            embodied=12_345,
            ratio_up=0,
            pick=0,
            submitter="holder",
        )
        for token in set(self.receipts) - before:
            self.receipts[token].ratio_bps *= 3


@pytest.mark.parametrize(
    ("machine", "message"),
    [
        (RogueRetirement, "a retirement backs no receipt"),
        (RogueMint, "does not exist"),
        (UnderRetirement, "under-retired"),
    ],
    ids=["retire-outside-settlement", "mint-without-retirement", "under-retire"],
)
def test_broken_machines_are_caught(
    embedded_world: World, machine: type[XcrMachine], message: str
) -> None:
    """hypothesis finds the violation and reports it with a minimal sequence of steps."""
    with pytest.raises(AssertionError, match=message) as caught:
        run_machine(embedded_world, 200, STEPS, machine=machine)
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "state = " in notes and "state.teardown()" in notes, notes
    rogue = {
        RogueRetirement: "rogue_retire",
        RogueMint: "rogue_mint",
        UnderRetirement: "under_retire",
    }
    assert f"state.{rogue[machine]}(" in notes, notes
