"""The bad-input corpus: one row per case (surface, id, action, expected error, field regex).

Each action takes the :class:`~tests.corpus.conftest.World` and must raise ``error`` whose
text matches ``names`` (the field, and the limit where there is one). CLI rows return a
``click`` result instead; the test checks a non-zero exit and ``names`` in its output.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from click.testing import CliRunner, Result

from tests.chain.helpers import batch_report, leaves, signed, single_report
from tests.receipt.examples import example_receipt
from xcr_py.chain import RemovalMethod, asset_token_id
from xcr_py.cli import cli
from xcr_py.client import CreditSelector
from xcr_py.content.cid import bytes_cid, parse_cid
from xcr_py.content.kubo import KuboStore
from xcr_py.errors import ContentError, ContractRevert, InputError, OracleError
from xcr_py.oracle.eip712 import Domain, Leaf, MerkleTree, MeteringReport, sign_all
from xcr_py.oracle.keys import KeyLoadError, OracleQuorum, OracleSigner
from xcr_py.oracle.outbox import OutboxConflict
from xcr_py.receipt import parse_receipt
from xcr_py.receipt.build import ReceiptInvalid, receipt_bytes

W = Any  # the World (typed loosely: the cases are data)
GOOD_DIGEST = bytes(32)
U64_MAX = 2**64 - 1


@dataclass(frozen=True)
class Case:
    surface: str
    id: str
    action: Callable[[W], object]
    error: type[BaseException] | None  # None: a CLI row (checked through its Result)
    names: str


def _cli(args: list[str]) -> Callable[[W], Result]:
    def run(world: W) -> Result:
        return CliRunner().invoke(cli, [a.replace("{tmp}", str(world.tmp)) for a in args],
                                  catch_exceptions=False)
    return run


def _file(name: str, data: bytes) -> Callable[[W], str]:
    def make(world: W) -> str:
        path = world.tmp / "inputs" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        return str(path)
    return make


def _cli_file(args: list[str], name: str, data: bytes) -> Callable[[W], Result]:
    def run(world: W) -> Result:
        path = _file(name, data)(world)
        return _cli([a.replace("{file}", path) for a in args])(world)
    return run


# -- receipts -------------------------------------------------------------------------------

def _receipt_doc() -> dict[str, Any]:
    return json.loads(receipt_bytes(example_receipt()))


def _receipt_with(path: str, value: Any) -> Callable[[W], object]:
    def run(_: W) -> object:
        doc = _receipt_doc()
        *parents, last = path.split(".")
        node = doc
        for p in parents:
            node = node[p]
        if value is _DROP:
            del node[last]
        else:
            node[last] = value
        return parse_receipt(json.dumps(doc, allow_nan=True).encode())
    return run


_DROP = object()

# -- contracts ------------------------------------------------------------------------------


def _submit(mutate: Callable[[W], tuple[MeteringReport, list[bytes]]]) -> Callable[[W], object]:
    def run(world: W) -> object:
        report, sigs = mutate(world)
        return world.env.holder.submit_single(report, sigs)
    return run


def _report(world: W, **overrides: Any) -> MeteringReport:
    return single_report(world.env, **overrides)


def _bad_report(**changes: Any) -> Callable[[W], object]:
    """A valid report with ``changes`` applied through the constructor (its validation)."""
    return lambda world: replace(single_report(world.env), **changes)


def _other_domain(world: W, **changes: Any) -> Domain:
    return replace(world.env.domain, **changes)


def _bad_sig(world: W) -> tuple[MeteringReport, list[bytes]]:
    report = _report(world)
    sig = bytearray(signed(world.env, report)[0])
    sig[10] ^= 0xFF
    return report, [bytes(sig)]


def _stranger_signs(world: W) -> tuple[MeteringReport, list[bytes]]:
    report = _report(world)
    return report, sign_all(report, world.env.domain, [world.env.stranger_key])


def _wrong_chain(world: W) -> tuple[MeteringReport, list[bytes]]:
    report = _report(world)
    return report, sign_all(report, _other_domain(world, chain_id=1), world.env.oracle_keys[:1])


def _wrong_contract(world: W) -> tuple[MeteringReport, list[bytes]]:
    report = _report(world)
    return report, sign_all(report, _other_domain(world, verifying_contract="0x" + "ab" * 20),
                            world.env.oracle_keys[:1])


def _wrong_domain_name(world: W) -> tuple[MeteringReport, list[bytes]]:
    report = _report(world)
    return report, sign_all(report, _other_domain(world, name="NotXCR"),
                            world.env.oracle_keys[:1])


def _expired(world: W) -> tuple[MeteringReport, list[bytes]]:
    report = _report(world, deadline=world.env.deadline() - 7200)
    return report, signed(world.env, report)


def _replayed(world: W) -> tuple[MeteringReport, list[bytes]]:
    return world.settled, world.settled_sigs


def _signed_by(world: W, report: MeteringReport) -> list[bytes]:
    return signed(world.env, report)


def _with(**overrides: Any) -> Callable[[W], tuple[MeteringReport, list[bytes]]]:
    def make(world: W) -> tuple[MeteringReport, list[bytes]]:
        values = {k: (v(world) if callable(v) else v) for k, v in overrides.items()}
        report = _report(world, **values)
        return report, _signed_by(world, report)
    return make


def _kofn(repeat: bool) -> Callable[[W], object]:
    def run(world: W) -> object:
        env2 = world.env2
        report = single_report(env2)
        keys = [env2.oracle_keys[0]] * 2 if repeat else env2.oracle_keys[:1]
        sigs = sign_all(report, env2.domain, keys) if not repeat else \
            [sign_all(report, env2.domain, keys[:1])[0]] * 2
        return env2.holder.submit_single(report, sigs)
    return run


def _batch_over(world: W, **overrides: Any) -> object:
    batch_leaves = leaves(world.env, 2)
    tree = MerkleTree(batch_leaves)
    report = batch_report(world.env, batch_leaves, tree.root, **overrides)
    return world.env.holder.submit_batch(report, signed(world.env, report))


def _claim_unknown(world: W) -> object:
    return world.env.holder.claim_asset_receipt(world.batch_token ^ 1, world.batch_leaf,
                                                world.batch_proof)


def _claim_bad_proof(world: W) -> object:
    leaf = world.batch_leaf
    forged = Leaf(leaf.asset_digest, leaf.receipt_digest, leaf.creator, leaf.energy_mj,
                  leaf.gross_mg * 1000)  # claims more emissions than were settled
    return world.env.holder.claim_asset_receipt(world.batch_token, forged, world.batch_proof)


def _transfer_receipt(world: W) -> object:
    token = asset_token_id(world.settled.asset_digest)
    holder = world.env.holder
    return holder.sender.transact(holder.receipts, "transferFrom", holder.sender.address,
                                  world.env.stranger.sender.address, token)


def _issue_ineligible(method: int, permanence: int) -> Callable[[W], object]:
    def run(world: W) -> object:
        return world.env.admin.issue_batch(1000, method, permanence, 2025, "R", "P", "1-1000",
                                           "bafkqaaa")
    return run


# -- client API -----------------------------------------------------------------------------


def _track(asset: Any = None, **kwargs: Any) -> Callable[[W], object]:
    def run(world: W) -> object:
        options = {"model": "corpus", **kwargs}
        value = asset(world) if callable(asset) else asset
        with world.tracker.track(value, **options):
            pass
        return None
    return run


def _track_batch(assets: list[bytes], weights: list[int] | None) -> Callable[[W], object]:
    def run(world: W) -> object:
        with world.tracker.track_batch(assets, weights, model="corpus"):
            pass
        return None
    return run


def _record(window: Any) -> Callable[[W], object]:
    def run(world: W) -> object:
        return world.tracker.record(window, b"\x89PNG\r\n\x1a\nrecorded", model="corpus")
    return run


# -- oracle ---------------------------------------------------------------------------------


def _outbox(call: Callable[[Any], object]) -> Callable[[W], object]:
    return lambda world: call(world.outbox)


def _confirmed_digest(world: W) -> bytes:
    return world.outbox.items("confirmed")[0].asset_digest


def _signer(key: Any) -> Callable[[W], object]:
    return lambda _: OracleSigner.from_private_key(key)


def _keystore(text: bytes, password: str = "pw") -> Callable[[W], object]:
    def run(world: W) -> object:
        return OracleSigner.from_keystore(_file("keystore.json", text)(world), password)
    return run


def _keystore_wrong_password(world: W) -> object:
    from eth_account import Account
    encrypted = Account.encrypt(world.env.oracle_keys[0], "right", kdf="pbkdf2", iterations=2)
    return OracleSigner.from_keystore(_file("ks.json", json.dumps(encrypted).encode())(world),
                                      "wrong")


def _quorum_repeated(world: W) -> object:
    signer = OracleSigner.from_private_key(world.env.oracle_keys[0])
    again = OracleSigner.from_private_key(world.env.oracle_keys[0])
    return OracleQuorum([signer, again], 2)


def _quorum_threshold(world: W) -> object:
    return OracleQuorum([OracleSigner.from_private_key(world.env.oracle_keys[0])], 2)


# -- content --------------------------------------------------------------------------------

def _get(cid: Callable[[W], Any]) -> Callable[[W], object]:
    return lambda world: world.store.get(cid(world))


_DAG_CBOR_CID = bytes_cid(b"x").set(codec="dag-cbor")


PNG = b"\x89PNG\r\n\x1a\n"
NAN = math.nan

CASES: list[Case] = [
    # ---- contracts (reverts decoded to the custom error that names the broken field) ----
    Case("contract", "bad-signature-bytes", _submit(_bad_sig), ContractRevert,
         r"XcrControllerNotOracle|ECDSA"),
    Case("contract", "signed-by-non-oracle", _submit(_stranger_signs), ContractRevert,
         r"XcrControllerNotOracle"),
    Case("contract", "wrong-domain-chain-id", _submit(_wrong_chain), ContractRevert,
         r"XcrControllerNotOracle"),
    Case("contract", "wrong-domain-contract", _submit(_wrong_contract), ContractRevert,
         r"XcrControllerNotOracle"),
    Case("contract", "wrong-domain-name", _submit(_wrong_domain_name), ContractRevert,
         r"XcrControllerNotOracle"),
    Case("contract", "expired-deadline", _submit(_expired), ContractRevert,
         r"XcrControllerReportExpired"),
    Case("contract", "replayed-report", _submit(_replayed), ContractRevert,
         r"CarbonReceiptAlreadyIssued"),
    Case("contract", "k-of-n-repeated-signer", _kofn(True), ContractRevert,
         r"XcrControllerDuplicateSigner"),
    Case("contract", "k-of-n-too-few", _kofn(False), ContractRevert,
         r"XcrControllerTooFewSignatures\(1, 2\)"),
    Case("contract", "no-signatures", _submit(lambda w: (_report(w), [])), ContractRevert,
         r"XcrControllerTooFewSignatures\(0, 1\)"),
    Case("contract", "unknown-credit-batch", _submit(_with(credit_batch=999)), ContractRevert,
         r"RemovalCreditsUnknownBatch\(999"),
    Case("contract", "low-permanence-batch",
         _submit(_with(credit_batch=lambda w: w.env.batch_low)), ContractRevert,
         r"RemovalCreditsPermanenceTooLow"),
    Case("contract", "insufficient-credits",
         _submit(_with(credit_batch=lambda w: w.env.batch_small)), ContractRevert,
         r"RemovalCreditsInsufficientCredits"),
    Case("contract", "gross-understated", _submit(_with(gross_mg=1)), ContractRevert,
         r"XcrControllerGrossMismatch\(1,"),
    Case("contract", "ratio-below-policy", _submit(_with(ratio_bps=9_999)), ContractRevert,
         r"XcrControllerRatioBelowPolicy\(9999, 10000\)"),
    Case("contract", "pue-below-one", _submit(_with(pue_milli=999)), ContractRevert,
         r"XcrControllerPueBelowOne\(999,\)"),
    Case("contract", "empty-receipt-digest", _submit(_with(receipt_digest=bytes(32))),
         ContractRevert, r"CarbonReceiptEmptyDigest"),
    Case("contract", "batch-zero-gross", lambda w: _batch_over(w, gross_mg=0), ContractRevert,
         r"XcrControllerEmptyBatch"),
    Case("contract", "batch-unknown-claim", _claim_unknown, ContractRevert,
         r"XcrControllerUnknownBatch"),
    Case("contract", "batch-claim-forged-leaf", _claim_bad_proof, ContractRevert,
         r"XcrControllerInvalidProof"),
    Case("contract", "receipt-transfer", _transfer_receipt, ContractRevert,
         r"CarbonReceiptSoulbound"),
    Case("contract", "issue-zero-permanence", _issue_ineligible(RemovalMethod.BIOCHAR, 0),
         ContractRevert, r"RemovalCreditsInvalidBatch"),
    Case("contract", "issue-unknown-method", _issue_ineligible(200, 1000), (InputError,
         ContractRevert), r"method|RemovalCreditsUnknownMethod"),  # type: ignore[arg-type]
    # ---- numbers that cannot be encoded: refused before anything is sent ----
    Case("oracle", "report-negative-energy", _bad_report(energy_mj=-1), InputError,
         r"energy_mj.*\[0, 2\*\*64\)"),
    Case("oracle", "report-overflow-energy", _bad_report(energy_mj=2**64),
         InputError, r"energy_mj.*2\*\*64"),
    Case("oracle", "report-float-gross", _bad_report(gross_mg=1.5), InputError,
         r"gross_mg"),
    Case("oracle", "report-nan-intensity", _bad_report(intensity_mg_per_kwh=NAN),
         InputError, r"intensity_mg_per_kwh"),
    Case("oracle", "report-short-digest", _bad_report(asset_digest=b"\x01" * 31),
         InputError, r"asset_digest.*32 bytes"),
    Case("oracle", "report-bad-creator", _bad_report(creator="0x1234"), InputError,
         r"creator.*20-byte address"),
    Case("oracle", "report-deadline-overflow", _bad_report(deadline=2**64),
         InputError, r"deadline"),
    # ---- oracle keys and quorum ----
    Case("oracle", "key-not-hex", _signer("0xnot-a-key"), KeyLoadError, r"private key"),
    Case("oracle", "key-too-short", _signer("0x" + "11" * 31), KeyLoadError, r"private key"),
    Case("oracle", "key-zero", _signer("0x" + "00" * 32), KeyLoadError, r"private key"),
    Case("oracle", "keystore-not-json", _keystore(b"{not json"), KeyLoadError,
         r"keystore .*not a JSON keystore"),
    Case("oracle", "keystore-no-crypto", _keystore(b'{"version": 3}'), KeyLoadError,
         r"keystore .*no 'crypto' section"),
    Case("oracle", "keystore-wrong-password", _keystore_wrong_password, KeyLoadError,
         r"keystore .*password"),
    Case("oracle", "quorum-repeated-key", _quorum_repeated, OracleError,
         r"oracle\.extra_keys: the same key"),
    Case("oracle", "quorum-threshold-above-n", _quorum_threshold, OracleError,
         r"oracle\.threshold: must be between 1 and 1"),
    # ---- outbox ----
    Case("oracle", "outbox-short-digest", _outbox(lambda b: b.enqueue(b"\x01" * 31)),
         InputError, r"asset_digest: must be 32 bytes"),
    Case("oracle", "outbox-no-signatures",
         lambda w: w.outbox.mark_signed(_confirmed_digest(w), report={}, signatures=[]),
         InputError, r"signatures: must hold at least one"),
    Case("oracle", "outbox-bad-tx-hash",
         lambda w: w.outbox.mark_submitted(_confirmed_digest(w), tx_hash="0x12"),
         InputError, r"tx_hash: must be a 0x-prefixed 32-byte"),
    Case("oracle", "outbox-negative-token",
         lambda w: w.outbox.mark_confirmed(_confirmed_digest(w), token_id=-1), InputError,
         r"token_id: must be a uint256"),
    Case("oracle", "outbox-overflow-token",
         lambda w: w.outbox.mark_confirmed(_confirmed_digest(w), token_id=2**256),
         InputError, r"token_id: must be a uint256"),
    Case("oracle", "outbox-confirmed-resigned",
         lambda w: w.outbox.mark_signed(_confirmed_digest(w), report={}, signatures=[b"s"]),
         OutboxConflict, r"cannot move to signed: expected pinned, but it is confirmed"),
    Case("oracle", "outbox-unknown-batch", _outbox(lambda b: b.get_batch(10_000)),
         OutboxConflict, r"batch 10000: does not exist"),
    Case("oracle", "outbox-empty-batch", _outbox(lambda b: b.create_batch([])), InputError,
         r"asset_digests: a batch needs at least one"),
    Case("oracle", "outbox-duplicate-leaf",
         _outbox(lambda b: b.create_batch([GOOD_DIGEST, GOOD_DIGEST])), InputError,
         r"asset_digests: an asset appears twice"),
    Case("oracle", "outbox-due-limit", _outbox(lambda b: b.due("pinned", 0)), InputError,
         r"limit: must be >= 1"),
    Case("oracle", "outbox-due-state", _outbox(lambda b: b.due("lost")), InputError,
         r"state: must be one of"),
    # ---- client API ----
    Case("client", "track-no-asset", _track(), InputError, r"asset: no asset"),
    Case("client", "track-missing-file", _track(lambda w: str(w.tmp / "nope.png")), InputError,
         r"asset: must be bytes or a readable file"),
    Case("client", "track-asset-int", _track(42), InputError,
         r"asset: must be bytes or a path, got int"),
    Case("client", "track-empty-model", _track(PNG + b"m", model=""), InputError,
         r"model: must be a non-empty string"),
    Case("client", "track-bad-creator", _track(PNG + b"c", creator="0xnope"), InputError,
         r"creator: must be a 20-byte hex address"),
    Case("client", "track-batch-weights", _track_batch([PNG + b"1", PNG + b"2"], [1]),
         InputError, r"weights: must have one weight per asset \(2\), got 1"),
    Case("client", "track-batch-empty", _track_batch([], None), InputError,
         r"assets: no assets"),
    Case("client", "record-not-a-window", _record({"energy_j": 1}), InputError,
         r"window: must be an EnergyWindow"),
    Case("client", "tracker-credit-batch-zero",
         lambda w: CreditSelector(w.tracker.gateway, 0), InputError,
         r"credit_batch: must be a batch id >= 1"),
    # ---- receipts against the schema ----
    Case("receipt", "not-json", lambda _: parse_receipt(b"{oops"), ReceiptInvalid,
         r"receipt: is not JSON"),
    Case("receipt", "not-an-object", lambda _: parse_receipt(b"[1, 2]"), ReceiptInvalid,
         r"receipt: must be a JSON object"),
    Case("receipt", "wrong-schema", _receipt_with("schema", "xcr.receipt/9"), ReceiptInvalid,
         r"schema: must be 'xcr.receipt/1'"),
    Case("receipt", "negative-energy", _receipt_with("energy.gpu_j", -1), ReceiptInvalid,
         r"energy\.gpu_j"),
    Case("receipt", "nan-energy", _receipt_with("energy.cpu_j", NAN), ReceiptInvalid,
         r"energy\.cpu_j"),
    Case("receipt", "missing-asset-cid", _receipt_with("asset.cid", _DROP), ReceiptInvalid,
         r"asset\.cid"),
    Case("receipt", "asset-cid-v0",
         _receipt_with("asset.cid", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"),
         ReceiptInvalid, r"asset\.cid.*CIDv1"),
    Case("receipt", "asset-cid-wrong-codec", _receipt_with("asset.cid", str(_DAG_CBOR_CID)),
         ReceiptInvalid, r"asset\.cid: must be a raw \(0x55\) or dag-pb \(0x70\) CID, got "
         r"codec 0x71"),
    Case("receipt", "asset-cid-of-another-file",
         _receipt_with("asset.cid", str(bytes_cid(b"another file"))),
         ReceiptInvalid, r"asset\.cid: its sha2-256 digest differs from asset\.sha256"),
    Case("receipt", "asset-raw-cid-for-a-large-file", _receipt_with("asset.bytes", 262_145),
         ReceiptInvalid, r"asset\.cid: a file of 262145 bytes \(> 262144\) has a dag-pb root"),
    Case("receipt", "unknown-field", _receipt_with("surprise", 1), ReceiptInvalid,
         r"surprise: unknown field"),
    Case("receipt", "non-canonical-bytes",
         lambda _: parse_receipt(json.dumps(_receipt_doc(), indent=1).encode(), canonical=True),
         ReceiptInvalid, r"receipt: bytes are not the canonical encoding"),
    Case("receipt", "oversized-media-type", _receipt_with("asset.media_type",
                                                              "image/" + "x" * 5000),
         ReceiptInvalid, r"asset\.media_type"),
    # ---- content addressing ----
    Case("content", "cid-garbage", lambda _: parse_cid("not-a-cid", field="asset.cid"),
         InputError, r"asset\.cid"),
    # A dag-cbor CID where a file (raw / dag-pb) is expected: refused, naming the CID.
    Case("content", "cid-wrong-codec-get", _get(lambda _: _DAG_CBOR_CID), ContentError,
         str(_DAG_CBOR_CID)),
    Case("content", "kubo-negative-retry",
         lambda _: KuboStore("http://127.0.0.1:1", retry_s=-1), InputError,
         r"retry_s: must be in \[0, 3600\] seconds, got -1"),
    Case("content", "kubo-url-not-http", lambda _: KuboStore("ftp://host:1"), InputError,
         r"store\.kubo_url: must be a multiaddr or http\(s\)://host:port"),
    Case("content", "store-get-missing", _get(lambda _: bytes_cid(os.urandom(16))),
         ContentError, r"bafk\w+"),
    # ---- CLI (exit status != 0 and the field in the message) ----
    Case("cli", "cid-missing-file", _cli(["cid", "{tmp}/nope.png"]), None, r"FILES"),
    Case("cli", "verify-text-file", _cli_file(["verify", "{file}"], "a.txt", b"hello\n"), None,
         r"step 'label'"),
    Case("cli", "verify-empty-png", _cli_file(["verify", "{file}"], "e.png", b""), None,
         r"step 'label'"),
    Case("cli", "verify-truncated-png", _cli_file(["verify", "{file}"], "t.png", PNG + b"xx"),
         None, r"truncated"),
    Case("cli", "footprint-negative-energy", _cli(["footprint", "--energy-j", "-5"]), None,
         r"must be >= 0 J, got -5"),
    Case("cli", "footprint-nan-energy", _cli(["footprint", "--energy-j", "nan"]), None,
         r"must be finite, got nan"),
    Case("cli", "footprint-inf-energy", _cli(["footprint", "--energy-j", "inf"]), None,
         r"must be finite"),
    Case("cli", "import-car-not-a-car", _cli_file(["store", "import-car", "{file}"], "x.car",
                                                   b"hello"), None, r"CAR"),
    Case("cli", "outbox-status-missing", _cli(["outbox", "status", "--outbox",
                                               "{tmp}/none.sqlite"]), None, r"outbox"),
    Case("cli", "report-not-a-campaign", _cli(["report", "{tmp}/nowhere"]), None,
         r"CAMPAIGN"),
]
