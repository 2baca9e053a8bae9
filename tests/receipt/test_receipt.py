"""Receipt models: derived integers, canonical bytes, digest/CID, validation errors by field."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.receipt.examples import example_receipt, parts
from xcr_py import units
from xcr_py.content.canonical import canonical_json
from xcr_py.content.cid import bytes_cid
from xcr_py.errors import InputError, ReceiptError
from xcr_py.receipt import (
    ReceiptInvalid,
    build_receipt,
    parse_receipt,
    receipt_bytes,
    receipt_cid,
    receipt_digest,
    receipt_document,
)


def test_integers_are_units_arithmetic() -> None:
    r = example_receipt()
    e = r.emissions
    assert e.energy_mj == 907_750                # (812.25 + 95.5) J, exactly
    assert e.intensity_mg_per_kwh == 381_400
    assert e.pue_milli == 1_200
    assert e.embodied_mg == 14                   # 13.5 mg rounds up
    # 907.75 J = 907750 mJ; x 1.2 x 381.4 g/kWh / 3.6e9 mJ/kWh = 115.40...mg -> 116 mg
    assert e.gross_mg == units.gross_emissions_mg(907_750, 381_400, 1_200, 14) == 116 + 14
    assert e.gross_g == 0.13
    assert r.removal.required_mg == units.required_removal_mg(130, 15_000) == 195
    assert e.interval_g.low <= e.gross_g <= e.interval_g.high
    # the interval really propagates: the high bound uses 1100 J x 420 x 1.4 + 0.02 g
    assert e.interval_g.high == pytest.approx(1100 / 3.6e6 * 420 * 1.4 + 0.02, abs=1e-6)
    assert e.interval_g.high >= 1100 / 3.6e6 * 420 * 1.4 + 0.02  # rounded outward
    assert e.interval_g.low <= 700 / 3.6e6 * 340 * 1.1 + 0.01
    assert (e.interval_g.low, e.interval_g.high) == (0.082722, 0.199667)


def test_canonical_bytes_round_trip_and_digest() -> None:
    r = example_receipt()
    data = receipt_bytes(r)
    assert data == canonical_json(json.loads(data))  # already canonical: a fixed point
    assert b'": ' not in data and b'", "' not in data
    assert data.startswith(b'{"asset":')
    assert b'"schema":"xcr.receipt/1"' in data
    again = parse_receipt(data, canonical=True)
    assert again == r
    assert receipt_bytes(again) == data
    assert receipt_digest(r) == hashlib.sha256(data).digest()
    assert receipt_cid(r) == bytes_cid(data)
    assert str(receipt_cid(data)).startswith("bafkrei")


def test_optional_parts_are_omitted_not_null() -> None:
    r = example_receipt(schedule=None, batch=None)
    doc = receipt_document(r)
    assert "schedule" not in doc and "batch" not in doc
    assert b"null" not in receipt_bytes(r).replace(b'"campaign"', b"")
    assert parse_receipt(receipt_bytes(r)) == r


def test_any_change_changes_the_digest() -> None:
    a, b = example_receipt(), example_receipt(ratio_bps=15_001)
    assert receipt_digest(a) != receipt_digest(b)


def test_addresses_are_checksummed_and_oracles_sorted() -> None:
    r = example_receipt()
    assert r.removal.credit.contract == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    with pytest.raises(ReceiptInvalid) as info:
        example_receipt(oracle={"addresses": list(reversed(parts()["oracle"]["addresses"]))})
    assert info.value.field == "oracle.addresses"
    with pytest.raises(ReceiptInvalid) as info:
        example_receipt(credit={**parts()["credit"],
                                "contract": "0x5FBDB2315678afecb367f032d93F642f64180aa3"})
    assert info.value.field == "removal.credit.contract" and "checksum" in info.value.problem


def _with(path: str, value: Any) -> dict[str, Any]:
    doc = receipt_document(example_receipt())
    node = doc
    *parents, leaf = path.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = value
    return doc


@pytest.mark.parametrize(("path", "value", "field", "needle"), [
    ("energy.gpu_j", -1.0, "energy.gpu_j", "greater than or equal to 0"),
    ("energy.method", "guessed", "energy.method", "measured"),
    ("energy.sources", [], "energy.sources", "at least 1"),
    ("asset.cid", "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "asset.cid", "CIDv1"),
    ("asset.cid", "not-a-cid", "asset.cid", "not a CID"),
    ("asset.cid", str(bytes_cid(b"x").set(codec="dag-cbor")), "asset.cid", "codec 0x71"),
    ("asset.cid", str(bytes_cid(b"x").set(codec="dag-pb")), "asset.cid", "has a raw CID"),
    ("asset.cid", str(bytes_cid(b"another file")), "asset.cid", "differs from asset.sha256"),
    ("asset.bytes", 262_145, "asset.cid", "has a dag-pb root CID"),
    ("asset.media_type", "PNG", "asset.media_type", "pattern"),
    ("asset.bytes", "12", "asset.bytes", "integer"),
    ("factors.pue.unit", "ratio", "factors.pue.unit", "must be '1'"),
    ("factors.pue", {"value": 0.95, "unit": "1", "source": "x", "method": "declared",
                     "interval": {"low": 0.9, "high": 1.0}}, "factors.pue.value",
     "PUE must be >= 1"),
    ("factors.intensity.interval", {"low": 1.0, "high": 2.0}, "factors.intensity.interval",
     "must contain value"),
    ("emissions.gross_mg", 131, "emissions.gross_mg", "must be 130"),
    ("emissions.energy_mj", 907_749, "emissions.energy_mj", "must be 907750"),
    ("emissions.gross_g", 0.131, "emissions.gross_g", "gross_mg / 1000"),
    ("removal.required_mg", 194, "removal.required_mg", "must be 195"),
    ("removal.ratio_bps", 9_999, "removal.ratio_bps", "10000"),
    ("created", "2026-12-03 12:00:00", "created", "UTC ISO 8601"),
    ("schedule.hour", "2026-12-03T12:30:00Z", "schedule.hour", "UTC hour"),
    ("asset.colour", "red", "asset.colour", "unknown field"),
])
def test_validation_errors_name_the_field(path: str, value: Any, field: str, needle: str) -> None:
    with pytest.raises(ReceiptInvalid) as info:
        parse_receipt(json.dumps(_with(path, value)))
    assert info.value.field == field
    assert needle in info.value.problem
    assert isinstance(info.value, ReceiptError) and isinstance(info.value, InputError)


def test_parse_rejects_wrong_schema_and_non_canonical_bytes() -> None:
    doc = receipt_document(example_receipt())
    with pytest.raises(ReceiptInvalid, match=r"schema: must be 'xcr\.receipt/1'"):
        parse_receipt({**doc, "schema": "xcr.receipt/2"})
    pretty = json.dumps(doc, indent=2).encode()
    assert parse_receipt(pretty) == example_receipt()
    with pytest.raises(ReceiptInvalid, match="not the canonical encoding"):
        parse_receipt(pretty, canonical=True)
    with pytest.raises(ReceiptInvalid, match="is not JSON"):
        parse_receipt(b"{")


def test_build_reports_bad_parts_by_receipt_path() -> None:
    bad_energy = {**parts()["energy"], "uncertainty": {"low": 1.0, "high": 2.0}}
    with pytest.raises(ReceiptInvalid) as info:
        build_receipt(**parts(energy=bad_energy))
    assert info.value.field == "energy.uncertainty"
    with pytest.raises(ReceiptInvalid) as info:
        build_receipt(**parts(credit={**parts()["credit"], "permanence_years": 0}))
    assert info.value.field == "removal.credit.permanence_years"
    with pytest.raises(ReceiptInvalid, match=r"removal\.ratio_bps"):
        build_receipt(**parts(ratio_bps=9_000))


def test_on_chain_integers_are_not_floats_in_bytes() -> None:
    doc = json.loads(receipt_bytes(example_receipt()))
    for key in ("energy_mj", "intensity_mg_per_kwh", "pue_milli", "embodied_mg", "gross_mg"):
        assert type(doc["emissions"][key]) is int
    assert type(doc["removal"]["required_mg"]) is int
