"""Attacks on every on-chain invariant, on each backend (embedded eth-tester, anvil, ganache).

Every revert is asserted by its decoded custom error name.
"""

from __future__ import annotations

import multiformats
from eth_utils import keccak

from tests.chain.helpers import (
    Env,
    batch_report,
    digest,
    leaves,
    reverts,
    signed,
    single_report,
)
from xcr_py import units
from xcr_py.chain import BATCH_BIT, RetirementStatus, asset_token_id, role_id
from xcr_py.oracle import Domain, MerkleTree, leaf_hash, sign, sign_all


def cid_uri(receipt_digest: bytes) -> str:
    return "ipfs://" + str(multiformats.CID("base32", 1, "raw", ("sha2-256", receipt_digest)))


# --- interfaces and the single happy path ----------------------------------------------------


def test_interfaces(env: Env) -> None:
    supports = env.admin.receipts.functions.supportsInterface
    assert supports(bytes.fromhex("b45a3c0e")).call()  # ERC-5192
    assert supports(bytes.fromhex("80ac58cd")).call()  # ERC-721
    assert supports(bytes.fromhex("5b5e139f")).call()  # ERC-721 Metadata
    assert supports(bytes.fromhex("01ffc9a7")).call()  # ERC-165
    assert not supports(bytes.fromhex("ffffffff")).call()
    assert env.admin.credits.functions.supportsInterface(bytes.fromhex("d9b67a26")).call()  # 1155


def test_single_receipt_retires_and_mints_atomically(env: Env) -> None:
    report = single_report(env, ratio_bps=12_500)
    before = env.admin.inventory_grams(env.batch_ok)
    settled = env.stranger.submit_single(report, signed(env, report))  # anyone may submit

    grams = units.grams_to_retire(units.required_removal_mg(report.gross_mg, 12_500))
    assert settled.token_id == asset_token_id(report.asset_digest)
    assert env.admin.inventory_grams(env.batch_ok) == before - grams
    receipt = env.admin.receipt(settled.token_id)
    assert receipt.owner == report.creator
    assert receipt.asset_digest == report.asset_digest
    assert receipt.receipt_digest == report.receipt_digest
    assert (receipt.energy_mj, receipt.gross_mg) == (report.energy_mj, report.gross_mg)
    assert receipt.removed_mg == grams * 1000 >= units.required_removal_mg(report.gross_mg, 12_500)
    assert receipt.retirement_id == settled.retirement_id
    assert not receipt.is_batch and not receipt.is_claim
    assert receipt.token_uri == cid_uri(report.receipt_digest)
    assert env.admin.receipts.functions.locked(settled.token_id).call() is True

    retirement = env.admin.retirement(settled.retirement_id)
    assert retirement.status is RetirementStatus.PENDING
    assert (retirement.batch_id, retirement.grams, retirement.beneficiary) == (
        env.batch_ok,
        grams,
        report.creator,
    )


def test_locked_event_at_mint(env: Env) -> None:
    report = single_report(env)
    settled = env.admin.submit_single(report, signed(env, report))
    locked_topic = keccak(text="Locked(uint256)")
    locked = [log for log in settled.tx.logs if bytes(log["topics"][0]) == locked_topic]
    assert len(locked) == 1
    assert int.from_bytes(bytes(locked[0]["data"]), "big") == settled.token_id


def test_asset_digest_with_top_bit_is_kept_whole(env: Env) -> None:
    high = bytes([0x80 | digest()[0]]) + digest()[1:]
    report = single_report(env, asset_digest=high)
    settled = env.admin.submit_single(report, signed(env, report))
    assert settled.token_id < BATCH_BIT
    assert env.admin.receipt(settled.token_id).asset_digest == high


# --- soulbound ---------------------------------------------------------------------------------


def test_receipts_never_move(env: Env) -> None:
    report = single_report(env)
    token = env.admin.submit_single(report, signed(env, report)).token_id
    holder, other = env.holder, env.stranger.sender.address
    me = holder.sender.address
    receipts = holder.receipts
    with reverts("CarbonReceiptSoulbound"):
        holder.sender.transact(receipts, "transferFrom", me, other, token)
    with reverts("CarbonReceiptSoulbound"):
        holder.sender.send(
            receipts.address, receipts.encode_abi("safeTransferFrom", args=[me, other, token])
        )
    with reverts("CarbonReceiptSoulbound"):
        holder.sender.send(
            receipts.address, receipts.encode_abi("safeTransferFrom", args=[me, other, token, b"x"])
        )
    with reverts("CarbonReceiptApprovalDisabled"):
        holder.sender.transact(receipts, "approve", other, token)
    with reverts("CarbonReceiptApprovalDisabled"):
        holder.sender.transact(receipts, "setApprovalForAll", other, True)
    assert receipts.functions.ownerOf(token).call() == me


def test_only_the_controller_mints(env: Env) -> None:
    record = (digest(), 1, 1, 0, 1, 0, 0)
    with reverts("AccessControlUnauthorizedAccount"):
        env.admin.sender.transact(
            env.admin.receipts, "mint", env.admin.sender.address, 7, digest(), record
        )


# --- one asset, one receipt; replay ----------------------------------------------------------


def test_second_receipt_for_same_asset_rejected(env: Env) -> None:
    first = single_report(env)
    env.admin.submit_single(first, signed(env, first))
    before = env.admin.inventory_grams(env.batch_ok)
    second = single_report(env, asset_digest=first.asset_digest, energy_mj=7)
    with reverts("CarbonReceiptAlreadyIssued"):
        env.admin.submit_single(second, signed(env, second))
    assert env.admin.inventory_grams(env.batch_ok) == before  # nothing retired


def test_replayed_report_rejected(env: Env) -> None:
    report = single_report(env)
    signatures = signed(env, report)
    env.admin.submit_single(report, signatures)
    count = env.admin.credits.functions.retirementCount().call()
    with reverts("CarbonReceiptAlreadyIssued"):
        env.stranger.submit_single(report, signatures)
    assert env.admin.credits.functions.retirementCount().call() == count


def test_report_signed_for_another_chain_or_contract_rejected(env: Env) -> None:
    report = single_report(env)
    oracle = env.oracle_keys[0]
    for domain in (
        Domain(env.deployment.chain_id + 1, env.deployment.controller),
        Domain(env.deployment.chain_id, env.deployment.credits),
        Domain(env.deployment.chain_id, env.deployment.controller, version="2"),
    ):
        with reverts("XcrControllerNotOracle"):
            env.admin.submit_single(report, [sign(report, domain, oracle)])


def test_expired_report_rejected(env: Env) -> None:
    report = single_report(env, deadline=1)
    with reverts("XcrControllerReportExpired"):
        env.admin.submit_single(report, signed(env, report))


# --- signers ---------------------------------------------------------------------------------


def test_non_oracle_signer_rejected(env: Env) -> None:
    report = single_report(env)
    with reverts("XcrControllerNotOracle") as caught:
        env.admin.submit_single(report, [sign(report, env.domain, env.stranger_key)])
    assert caught.error is not None
    assert caught.error.error_args == (env.stranger.sender.address,)


def test_k_of_n_needs_distinct_ordered_oracles(env: Env) -> None:
    env.admin.set_policy(10_000, 100, 2)
    try:
        report = single_report(env)
        one, two = signed(env, report, 2)
        with reverts("XcrControllerTooFewSignatures"):
            env.admin.submit_single(report, [one])
        with reverts("XcrControllerDuplicateSigner"):
            env.admin.submit_single(report, [one, one])
        with reverts("XcrControllerSignersNotAscending"):
            env.admin.submit_single(report, [two, one])
        with reverts("XcrControllerNotOracle"):
            env.admin.submit_single(
                report, sign_all(report, env.domain, [env.oracle_keys[0], env.stranger_key])
            )
        settled = env.admin.submit_single(report, [one, two])
        assert env.admin.receipt_exists(settled.token_id)
    finally:
        env.admin.set_policy(10_000, 100, 1)


def test_only_admin_sets_policy_and_threshold_is_positive(env: Env) -> None:
    with reverts("AccessControlUnauthorizedAccount"):
        env.stranger.set_policy(20_000, 100, 1)
    with reverts("XcrControllerInvalidThreshold"):
        env.admin.set_policy(10_000, 100, 0)
    with reverts("AccessControlUnauthorizedAccount"):
        env.stranger.grant_oracle(env.stranger.sender.address)


# --- numbers ---------------------------------------------------------------------------------


def test_ratio_under_one_rejected(env: Env) -> None:
    with reverts("XcrControllerRatioBelowOne"):
        env.admin.set_policy(9_999, 100, 1)
    report = single_report(env, ratio_bps=9_999)
    with reverts("XcrControllerRatioBelowPolicy"):
        env.admin.submit_single(report, signed(env, report))
    env.admin.set_policy(15_000, 100, 1)
    try:
        low = single_report(env, ratio_bps=12_000)  # above 1.0 but below the policy
        with reverts("XcrControllerRatioBelowPolicy"):
            env.admin.submit_single(low, signed(env, low))
    finally:
        env.admin.set_policy(10_000, 100, 1)


def test_wrong_emissions_total_rejected(env: Env) -> None:
    good = single_report(env)
    for stated in (good.gross_mg + 1, good.gross_mg - 1, 0):
        bad = single_report(env, gross_mg=stated)
        with reverts("XcrControllerGrossMismatch") as caught:
            env.admin.submit_single(bad, signed(env, bad))
        assert caught.error is not None
        assert caught.error.error_args == (stated, good.gross_mg)
    pue = single_report(env, pue_milli=999)
    with reverts("XcrControllerPueBelowOne"):
        env.admin.submit_single(pue, signed(env, pue))


# --- credits ---------------------------------------------------------------------------------


def test_insufficient_credits_rejected(env: Env) -> None:
    report = single_report(env, credit_batch=env.batch_small)  # needs ~500 g, batch holds 3
    with reverts("RemovalCreditsInsufficientCredits"):
        env.admin.submit_single(report, signed(env, report))
    assert env.admin.inventory_grams(env.batch_small) == 3


def test_ineligible_credits_rejected(env: Env) -> None:
    low = single_report(env, credit_batch=env.batch_low)
    with reverts("RemovalCreditsPermanenceTooLow"):
        env.admin.submit_single(low, signed(env, low))
    unknown = single_report(env, credit_batch=999)
    with reverts("RemovalCreditsUnknownBatch"):
        env.admin.submit_single(unknown, signed(env, unknown))
    zero = single_report(env, energy_mj=0, embodied_mg=0)
    with reverts("RemovalCreditsZeroRetirement"):
        env.admin.submit_single(zero, signed(env, zero))


def test_avoidance_credits_cannot_be_issued(env: Env) -> None:
    with reverts("RemovalCreditsUnknownMethod"):
        env.admin.issue_batch(1000, 6, 100, 2024, "Verra", "REDD-1", "1-1000", "bafy")
    with reverts("RemovalCreditsInvalidBatch"):
        env.admin.issue_batch(1000, 1, 0, 2024, "Puro.earth", "P", "1-1000", "bafy")
    with reverts("AccessControlUnauthorizedAccount"):
        env.stranger.issue_batch(1000, 1, 100, 2024, "Puro.earth", "P", "1-1000", "bafy")


def test_only_the_controller_retires(env: Env) -> None:
    for gateway in (env.admin, env.stranger):  # admin is also the registrar
        with reverts("AccessControlUnauthorizedAccount") as caught:
            gateway.retire(env.batch_ok, 1, gateway.sender.address, 0, 0)
        assert caught.error is not None
        assert caught.error.error_args[1] == role_id("RETIRER_ROLE")


def test_retirement_pending_then_final(env: Env) -> None:
    report = single_report(env)
    retirement_id = env.admin.submit_single(report, signed(env, report)).retirement_id
    with reverts("AccessControlUnauthorizedAccount"):
        env.stranger.finalize_retirement(retirement_id, "PURO-CERT-1")
    with reverts("RemovalCreditsEmptyCertificate"):
        env.admin.finalize_retirement(retirement_id, "")
    env.admin.finalize_retirement(retirement_id, "PURO-CERT-1")
    final = env.admin.retirement(retirement_id)
    assert (final.status, final.certificate) == (RetirementStatus.FINAL, "PURO-CERT-1")
    with reverts("RemovalCreditsRetirementNotPending"):
        env.admin.finalize_retirement(retirement_id, "PURO-CERT-2")
    with reverts("RemovalCreditsRetirementNotPending"):
        env.admin.finalize_retirement(10**9, "PURO-CERT-3")


# --- batches ---------------------------------------------------------------------------------


def test_batch_settles_once_and_proves_every_leaf(env: Env) -> None:
    batch_leaves = leaves(env, 7)
    tree = MerkleTree(batch_leaves)
    report = batch_report(env, batch_leaves, tree.root, ratio_bps=11_000)
    before = env.admin.inventory_grams(env.batch_ok)
    settled = env.stranger.submit_batch(report, signed(env, report))

    assert settled.token_id & BATCH_BIT
    grams = units.grams_to_retire(units.required_removal_mg(report.gross_mg, 11_000))
    assert env.admin.inventory_grams(env.batch_ok) == before - grams
    receipt = env.admin.receipt(settled.token_id)
    assert receipt.is_batch and receipt.asset_digest is None
    assert (receipt.gross_mg, receipt.removed_mg) == (report.gross_mg, grams * 1000)
    assert receipt.owner == report.owner
    assert receipt.token_uri == cid_uri(report.receipt_digest)
    assert env.admin.batch_root(settled.token_id) == tree.root
    for leaf in batch_leaves:
        assert env.stranger.verify_asset(settled.token_id, leaf, tree.proof(leaf))

    with reverts("CarbonReceiptAlreadyIssued"):  # the same signed batch twice
        env.admin.submit_batch(report, signed(env, report))
    # the same leaves under a new report (other receipt document): still one settlement
    again = batch_report(env, batch_leaves, tree.root)
    with reverts("CarbonReceiptAlreadyIssued"):
        env.admin.submit_batch(again, signed(env, again))


def test_invalid_proofs_and_leaf_node_confusion(env: Env) -> None:
    batch_leaves = leaves(env, 4)
    tree = MerkleTree(batch_leaves)
    report = batch_report(env, batch_leaves, tree.root)
    token = env.admin.submit_batch(report, signed(env, report)).token_id
    leaf = batch_leaves[0]
    proof = tree.proof(leaf)
    forged = type(leaf)(
        leaf.asset_digest, leaf.receipt_digest, leaf.creator, leaf.energy_mj, leaf.gross_mg - 1
    )
    assert not env.admin.verify_asset(token, forged, proof)
    assert not env.admin.verify_asset(token, leaf, proof[:-1])
    assert not env.admin.verify_asset(token, leaf, tree.proof(batch_leaves[1]))
    # An inner node (hash of two leaf hashes) presented as a leaf: the contract double-hashes the
    # 160-byte leaf encoding, so no leaf built from the children's bytes lands on the node.
    left, right = tree.node(1), tree.node(2)
    inner_proof = [right]
    assert keccak(min(left, right) + max(left, right)) == tree.root
    posing = type(leaf)(tree.node(3), tree.node(4), leaf.creator, 0, 0)
    assert not env.admin.verify_asset(token, posing, tree.proof(leaf)[1:])
    assert not env.admin.verify_asset(token, posing, inner_proof)
    on_chain_hash = env.admin.controller.functions.leafHash(leaf.as_tuple()).call()
    assert bytes(on_chain_hash) == leaf_hash(leaf)
    with reverts("XcrControllerInvalidProof"):
        env.admin.claim_asset_receipt(token, forged, proof)
    with reverts("XcrControllerUnknownBatch"):
        env.admin.verify_asset(token ^ 1, leaf, proof)
    with reverts("XcrControllerUnknownBatch"):
        env.admin.claim_asset_receipt(asset_token_id(leaf.asset_digest), leaf, proof)


def test_claim_shares_the_batch_retirement_once_per_asset(env: Env) -> None:
    batch_leaves = leaves(env, 5)
    tree = MerkleTree(batch_leaves)
    report = batch_report(env, batch_leaves, tree.root)
    batch = env.admin.submit_batch(report, signed(env, report))
    inventory = env.admin.inventory_grams(env.batch_ok)
    retirements = env.admin.credits.functions.retirementCount().call()

    leaf = batch_leaves[2]
    claim = env.stranger.claim_asset_receipt(batch.token_id, leaf, tree.proof(leaf))
    receipt = env.admin.receipt(claim.token_id)
    assert claim.token_id == asset_token_id(leaf.asset_digest)
    assert receipt.owner == leaf.creator and receipt.is_claim
    assert receipt.retirement_id == batch.retirement_id and receipt.removed_mg == 0
    assert (receipt.energy_mj, receipt.gross_mg) == (leaf.energy_mj, leaf.gross_mg)
    assert receipt.token_uri == cid_uri(leaf.receipt_digest)
    # retires nothing, creates no retirement
    assert env.admin.inventory_grams(env.batch_ok) == inventory
    assert env.admin.credits.functions.retirementCount().call() == retirements

    with reverts("CarbonReceiptAlreadyIssued"):
        env.admin.claim_asset_receipt(batch.token_id, leaf, tree.proof(leaf))
    # the same asset settled singly afterwards: still one receipt per asset
    single = single_report(env, asset_digest=leaf.asset_digest)
    with reverts("CarbonReceiptAlreadyIssued"):
        env.admin.submit_single(single, signed(env, single))


def test_batch_report_checks(env: Env) -> None:
    batch_leaves = leaves(env, 2)
    tree = MerkleTree(batch_leaves)
    expired = batch_report(env, batch_leaves, tree.root, deadline=1)
    with reverts("XcrControllerReportExpired"):
        env.admin.submit_batch(expired, signed(env, expired))
    empty = batch_report(env, batch_leaves, tree.root, leaf_count=0)
    with reverts("XcrControllerEmptyBatch"):
        env.admin.submit_batch(empty, signed(env, empty))
    low = batch_report(env, batch_leaves, tree.root, credit_batch=env.batch_low)
    with reverts("RemovalCreditsPermanenceTooLow"):
        env.admin.submit_batch(low, signed(env, low))
    cheap = batch_report(env, batch_leaves, tree.root, ratio_bps=9_000)
    with reverts("XcrControllerRatioBelowPolicy"):
        env.admin.submit_batch(cheap, signed(env, cheap))
    report = batch_report(env, batch_leaves, tree.root)
    with reverts("XcrControllerNotOracle"):
        env.admin.submit_batch(report, [sign(report, env.domain, env.stranger_key)])


# --- pause -----------------------------------------------------------------------------------


def test_pause_stops_settlement_and_claims(env: Env) -> None:
    batch_leaves = leaves(env, 2)
    tree = MerkleTree(batch_leaves)
    batch_rep = batch_report(env, batch_leaves, tree.root)
    batch = env.admin.submit_batch(batch_rep, signed(env, batch_rep))
    with reverts("AccessControlUnauthorizedAccount"):
        env.stranger.pause()
    env.admin.pause()
    try:
        report = single_report(env)
        with reverts("XcrControllerPaused"):
            env.admin.submit_single(report, signed(env, report))
        other_leaves = leaves(env, 2)
        other = batch_report(env, other_leaves, MerkleTree(other_leaves).root)
        with reverts("XcrControllerPaused"):
            env.admin.submit_batch(other, signed(env, other))
        leaf = batch_leaves[0]
        with reverts("XcrControllerPaused"):
            env.admin.claim_asset_receipt(batch.token_id, leaf, tree.proof(leaf))
        with reverts("AccessControlUnauthorizedAccount"):
            env.stranger.unpause()
        with reverts("XcrControllerPaused"):
            env.admin.pause()
        assert env.admin.paused() is True
    finally:
        env.admin.unpause()
    with reverts("XcrControllerNotPaused"):
        env.admin.unpause()
    assert env.admin.submit_single(report, signed(env, report)).token_id
