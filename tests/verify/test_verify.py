"""verify_file on a real campaign (embedded chain + LocalStore), and each tampering failing at
the step that owns the broken fact."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from tests.verify.campaign import Campaign
from xcr_py.chain import BATCH_BIT
from xcr_py.content.blocks import as_binary_cid
from xcr_py.content.canonical import canonical_json
from xcr_py.content.local import LocalStore
from xcr_py.embed.files import read_label, write_label
from xcr_py.receipt.model import value_to_milli
from xcr_py.units import gross_emissions_mg, required_removal_mg
from xcr_py.verify import STEPS, verify_file

ALL_SINGLE = [s for s in STEPS if not s.startswith(("batch_", "inclusion"))]


def _copy(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / src.name
    shutil.copyfile(src, out)
    return out


def _relabel(path: Path, **changes: object) -> None:
    label = read_label(path).label
    write_label(path, replace(label, **changes), replace=True)


def _store(campaign: Campaign) -> LocalStore:
    return LocalStore(campaign.config.store_path)


def test_single_mode_passes_every_step(campaign: Campaign) -> None:
    verdict = verify_file(campaign.files["single"][0], campaign.config)
    assert verdict.ok, verdict.to_json()
    assert verdict.mode == "single"
    assert [s.name for s in verdict.steps] == ALL_SINGLE
    footprint = next(s for s in verdict.steps if s.name == "footprint")
    gross = next(n for n in footprint.numbers if n.name == "gross")
    assert gross.value == campaign.results["single"][0].gross_mg
    assert (gross.unit, gross.method) == ("mg CO2e", "recomputed")
    for step in verdict.steps:
        for number in step.numbers:
            assert number.unit and number.source and number.method


def test_batch_mode_checks_the_inclusion_proof(campaign: Campaign) -> None:
    verdict = verify_file(campaign.files["batch"][2], campaign.config)
    assert verdict.ok, verdict.to_json()
    assert verdict.mode == "batch"
    assert [s.name for s in verdict.steps] == list(STEPS)
    totals = next(s for s in verdict.steps if s.name == "batch_totals")
    by_name = {n.name: n.value for n in totals.numbers}
    assert by_name["batch.gross"] == sum(r.gross_mg or 0 for r in campaign.results["batch"])
    assert int(by_name["batch.removed"]) >= int(by_name["batch.required"])


def _flip_idat_byte(data: bytes) -> bytes:
    """Change one byte inside the IDAT chunk and fix its CRC (as an image editor would)."""
    out = bytearray(data)
    pos = 8
    while pos < len(out):
        length = int.from_bytes(out[pos:pos + 4], "big")
        kind = bytes(out[pos + 4:pos + 8])
        if kind == b"IDAT":
            out[pos + 8 + length // 2] ^= 0x01
            crc = zlib.crc32(bytes(out[pos + 4:pos + 8 + length]))
            out[pos + 8 + length:pos + 12 + length] = crc.to_bytes(4, "big")
            return bytes(out)
        pos += 12 + length
    raise AssertionError("no IDAT chunk")


def test_one_image_byte_changed_fails_at_receipt_asset(campaign: Campaign,
                                                       tmp_path: Path) -> None:
    path = _copy(campaign.files["single"][0], tmp_path)
    path.write_bytes(_flip_idat_byte(path.read_bytes()))
    verdict = verify_file(path, campaign.config)
    assert not verdict.ok
    failed = verdict.failed_step
    assert failed is not None and failed.name == "receipt_asset", verdict.to_json()
    assert [s.name for s in verdict.steps] == ["label", "asset_cid", "receipt", "receipt_asset"]
    assert "the file's bytes are" in failed.details


def test_one_raw_byte_flipped_is_a_damaged_file_at_label(campaign: Campaign,
                                                         tmp_path: Path) -> None:
    path = _copy(campaign.files["single"][0], tmp_path)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x01  # inside IDAT, CRC not fixed: the PNG itself is damaged
    path.write_bytes(bytes(data))
    verdict = verify_file(path, campaign.config)
    failed = verdict.failed_step
    assert failed is not None and failed.name == "label"
    assert "CRC" in failed.details


def _tampered_receipt(campaign: Campaign, tmp_path: Path, mutate: object,
                      relabel_gross: bool) -> tuple[Path, dict]:
    path = _copy(campaign.files["single"][1], tmp_path)
    label = read_label(path).label
    doc = json.loads(_store(campaign).get(label.receipt_cid))
    mutate(doc)  # type: ignore[operator]
    cid = _store(campaign).put_bytes(canonical_json(doc, root="receipt"))
    changes: dict[str, object] = {"receipt_cid": str(cid)}
    if relabel_gross:
        changes["gross_mg"] = doc["emissions"]["gross_mg"]
    _relabel(path, **changes)
    return path, doc


def test_consistent_receipt_with_one_number_changed_fails_at_token(campaign: Campaign,
                                                                  tmp_path: Path) -> None:
    def bump_intensity(doc: dict) -> None:
        # Change one factor and re-derive every integer, so the receipt is self-consistent:
        # only the chain (which holds the original digest) can tell.
        f = doc["factors"]["intensity"]
        f["value"] = f["value"] * 2
        f["interval"]["high"] = max(f["interval"]["high"], f["value"])
        e = doc["emissions"]
        e["intensity_mg_per_kwh"] = value_to_milli(f["value"])
        e["gross_mg"] = gross_emissions_mg(e["energy_mj"], e["intensity_mg_per_kwh"],
                                           e["pue_milli"], e["embodied_mg"])
        e["gross_g"] = e["gross_mg"] / 1000
        e["interval_g"]["high"] = max(e["interval_g"]["high"], e["gross_g"])
        doc["removal"]["required_mg"] = required_removal_mg(e["gross_mg"],
                                                            doc["removal"]["ratio_bps"])

    path, _ = _tampered_receipt(campaign, tmp_path, bump_intensity, relabel_gross=True)
    verdict = verify_file(path, campaign.config)
    failed = verdict.failed_step
    assert failed is not None and failed.name == "token", verdict.to_json()
    assert "receipt digest" in failed.details


def test_receipt_whose_gross_disagrees_with_its_factors_fails_at_footprint(
        campaign: Campaign, tmp_path: Path) -> None:
    def understate(doc: dict) -> None:
        doc["emissions"]["gross_mg"] = max(0, doc["emissions"]["gross_mg"] - 1)

    path, doc = _tampered_receipt(campaign, tmp_path, understate, relabel_gross=True)
    verdict = verify_file(path, campaign.config)
    failed = verdict.failed_step
    assert failed is not None and failed.name == "footprint", verdict.to_json()
    assert f"emissions.gross_mg states {doc['emissions']['gross_mg']}" in failed.details
    # The recomputed figure is reported beside the stated one.
    gross = next(n for n in failed.numbers if n.name == "gross")
    assert gross.value == doc["emissions"]["gross_mg"] + 1


def test_label_token_id_changed_fails_at_token(campaign: Campaign, tmp_path: Path) -> None:
    single = _copy(campaign.files["single"][0], tmp_path)
    other = campaign.results["single"][1].token_id
    _relabel(single, token_id=other)  # another real, settled token
    verdict = verify_file(single, campaign.config)
    failed = verdict.failed_step
    assert failed is not None and failed.name == "token"
    assert "this asset's token id" in failed.details

    (tmp_path / "b").mkdir()
    batch = _copy(campaign.files["batch"][0], tmp_path / "b")
    token = campaign.results["batch"][0].token_id or 0
    _relabel(batch, token_id=token ^ 1)  # a batch token id that was never minted
    verdict = verify_file(batch, campaign.config)
    failed = verdict.failed_step
    assert failed is not None and failed.name == "token"
    assert "does not exist" in failed.details
    assert token & BATCH_BIT


def _damage_block(store: LocalStore, cid: str, damage: str) -> None:
    """Remove or corrupt one stored block, loose file or packed record alike."""
    where = store.locate(cid)
    assert where is not None, f"{cid} is not in the store"
    if isinstance(where, Path):
        path, offset = where, 10
    else:
        path, offset = where.path, where.offset + 10
    if damage == "missing":
        if isinstance(where, Path):
            where.unlink()
        else:  # the index no longer names it: what a lost pack record looks like
            with contextlib.closing(sqlite3.connect(store.root / "index.sqlite")) as db, db:
                db.execute("DELETE FROM blocks WHERE cid = ?", (as_binary_cid(cid),))
        return
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["missing", "corrupted"])
def test_store_damage_fails_at_receipt(campaign: Campaign, tmp_path: Path, damage: str) -> None:
    store_copy = tmp_path / "store"
    shutil.copytree(campaign.config.store_path, store_copy)
    store = LocalStore(store_copy)
    path = campaign.files["single"][0]
    _damage_block(store, read_label(path).label.receipt_cid, damage)
    verdict = verify_file(path, campaign.config, store=store)
    failed = verdict.failed_step
    assert failed is not None and failed.name == "receipt", verdict.to_json()
    expected = "is not in" if damage == "missing" else "BlockCorrupted"
    assert expected in failed.details, failed.details


def test_missing_batch_document_fails_at_batch_document(campaign: Campaign,
                                                        tmp_path: Path) -> None:
    store_copy = tmp_path / "store"
    shutil.copytree(campaign.config.store_path, store_copy)
    store = LocalStore(store_copy)
    first = verify_file(campaign.files["batch"][1], campaign.config, store=store)
    doc_step = next(s for s in first.steps if s.name == "batch_document")
    doc_cid = doc_step.details.split()[2].rstrip(":")
    _damage_block(store, doc_cid, "missing")
    verdict = verify_file(campaign.files["batch"][1], campaign.config, store=store)
    failed = verdict.failed_step
    assert failed is not None and failed.name == "batch_document"


def test_unlabelled_file_fails_at_label(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "plain.png"
    path.write_bytes(read_label(campaign.files["single"][0]).original)
    verdict = verify_file(path, campaign.config)
    assert [s.name for s in verdict.steps] == ["label"] and not verdict.ok


def test_claimed_asset_token_verifies_against_the_batch_retirement(campaign: Campaign,
                                                                   tmp_path: Path) -> None:
    from xcr_py.chain import XcrGateway
    from xcr_py.chain.embedded import EmbeddedChain
    from xcr_py.config import load_config
    from xcr_py.oracle.eip712 import Leaf

    root = tmp_path / "copy"
    shutil.copytree(campaign.root, root)  # the claim is a new transaction: work on a copy
    config = load_config(root / "xcr.toml", env={})
    path = root / "batch" / "asset-1.png"
    label = read_label(path).label
    store = LocalStore(config.store_path)
    with EmbeddedChain(config.chain.data_dir) as chain:
        gw = XcrGateway(chain.w3, campaign.deployment, chain.dev_private_keys()[3])
        doc = json.loads(store.get(gw.receipt(label.token_id).token_uri.removeprefix("ipfs://")))
        entry = next(e for e in doc["leaves"] if e["receipt_cid"] == label.receipt_cid)
        proof_doc = json.loads(store.get(entry["proof_cid"]))
        leaf = Leaf(asset_digest=bytes.fromhex(entry["asset_digest"][2:]),
                    receipt_digest=bytes.fromhex(entry["receipt_digest"][2:]),
                    creator=entry["creator"], energy_mj=entry["energy_mj"],
                    gross_mg=entry["gross_mg"])
        claimed = gw.claim_asset_receipt(label.token_id, leaf,
                                         [bytes.fromhex(h[2:]) for h in proof_doc["proof"]])
    _relabel(path, token_id=claimed.token_id)
    verdict = verify_file(path, config)
    assert verdict.ok, verdict.to_json()
    assert verdict.mode == "claim"
    assert [s.name for s in verdict.steps] == ALL_SINGLE


def test_jpeg_and_sidecar_labelled_wav_verify(campaign: Campaign) -> None:
    jpg, wav = campaign.files["single"][2], campaign.files["single"][3]
    assert (jpg.suffix, wav.suffix) == (".jpg", ".wav")
    assert Path(str(wav) + ".xcr.json").is_file()
    for path in (jpg, wav):
        verdict = verify_file(path, campaign.config)
        assert verdict.ok, verdict.to_json()
    assert "sidecar label" in verify_file(wav, campaign.config).steps[0].details


def test_changed_audio_with_sidecar_fails_at_receipt_asset(campaign: Campaign,
                                                           tmp_path: Path) -> None:
    wav = campaign.files["single"][3]
    path = _copy(wav, tmp_path)
    shutil.copyfile(str(wav) + ".xcr.json", str(path) + ".xcr.json")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # one audio sample byte
    path.write_bytes(bytes(data))
    verdict = verify_file(path, campaign.config)
    failed = verdict.failed_step
    assert failed is not None and failed.name == "receipt_asset", verdict.to_json()


@pytest.mark.parametrize(("change", "expected"), [
    ({"retirement_status": "final"}, "final; on chain it is pending"),
    ({"removed_mg": 10**9}, "label claims 1000000000 mg removed"),
])
def test_label_overclaiming_the_retirement_fails_at_retirement(
        campaign: Campaign, tmp_path: Path, change: dict, expected: str) -> None:
    path = _copy(campaign.files["single"][0], tmp_path)
    _relabel(path, **change)
    verdict = verify_file(path, campaign.config)
    failed = verdict.failed_step
    assert failed is not None and failed.name == "retirement", verdict.to_json()
    assert expected in failed.details
