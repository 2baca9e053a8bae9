"""ImpactLabel validation and its XMP serialisation."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.label.helpers import CONTRACT, RECEIPT_CID, make_label
from xcr_py.errors import InputError
from xcr_py.receipt.label import (
    IPTC_EXT_NS,
    MAX_PACKET_BYTES,
    TRAINED_ALGORITHMIC_MEDIA,
    XCR_NS,
    ImpactLabel,
    is_xcr_packet,
    parse_xmp,
    to_xmp,
)

labels = st.builds(
    make_label,
    chain_id=st.integers(1, 2**64 - 1),
    token_id=st.integers(0, 2**256 - 1),
    gross_mg=st.integers(0, 2**256 - 1),
    removed_mg=st.integers(0, 2**256 - 1),
    ratio_bps=st.integers(10_000, 2**32 - 1),
    method=st.sampled_from(["measured", "estimated", "estimated (published benchmark)"]),
    removal_method=st.sampled_from(["biochar", "DACCS", "enhanced weathering", "BECCS (wood)"]),
    permanence_years=st.integers(1, 100_000),
    retirement_status=st.sampled_from(["pending", "final"]),
)


def test_defaults_and_derived_values() -> None:
    label = make_label()
    assert label.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert label.gross_g == Decimal("1.1")
    assert label.removed_g == Decimal("1.3")
    assert label.ratio == Decimal("1.2")
    assert not label.is_estimate
    assert make_label(method="estimated").is_estimate


def test_normalises_cid_and_address() -> None:
    base58 = "zb2rhZhfZ71VE6u6BX78cmaNKsLmDde9EYyrY9dsRVLJWr9oW"  # same CID, base58btc
    label = make_label(receipt_cid=base58, receipt_contract=CONTRACT.lower())
    assert label.receipt_cid == RECEIPT_CID
    assert label.receipt_contract == CONTRACT
    assert label == make_label()


@pytest.mark.parametrize(
    ("overrides", "field", "limit"),
    [
        ({"receipt_cid": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"}, "receipt_cid", "CIDv1"),
        ({"receipt_cid": "not-a-cid"}, "receipt_cid", "not a valid CID"),
        ({"receipt_contract": "0x1234"}, "receipt_contract", "40 hex"),
        ({"receipt_contract": CONTRACT.replace("F", "f", 1)}, "receipt_contract", "EIP-55"),
        ({"chain_id": 0}, "chain_id", "1.."),
        ({"token_id": -1}, "token_id", "0.."),
        ({"token_id": 2**256}, "token_id", str(2**256 - 1)),
        ({"gross_mg": True}, "gross_mg", "integer"),
        ({"removed_mg": 1.5}, "removed_mg", "integer"),
        ({"ratio_bps": 9_999}, "ratio_bps", "10000.."),
        ({"method": "guessed"}, "method", "'measured'"),
        ({"retirement_status": "done"}, "retirement_status", "'pending'"),
        ({"removal_method": ""}, "removal_method", "1..64"),
        ({"removal_method": "x" * 65}, "removal_method", "1..64"),
        ({"removal_method": "bio<char>"}, "removal_method", "letters"),
        ({"removal_method": "Carbon Neutral"}, "removal_method", "not a claim"),
        ({"permanence_years": 0}, "permanence_years", "1.."),
        ({"digital_source_type": "http://example.org/x"}, "digital_source_type", "one of"),
    ],
)
def test_rejects_bad_fields_naming_field_and_limit(
    overrides: dict[str, object], field: str, limit: str
) -> None:
    with pytest.raises(InputError) as info:
        make_label(**overrides)
    assert info.value.field == f"label.{field}"
    assert limit in info.value.problem


def test_carbon_neutral_needs_cover_and_finality() -> None:
    assert make_label(gross_mg=1_000, removed_mg=1_000, retirement_status="final").carbon_neutral
    assert not make_label(gross_mg=1_000, removed_mg=999, retirement_status="final").carbon_neutral
    assert not make_label(gross_mg=1, removed_mg=5, retirement_status="pending").carbon_neutral


def test_xmp_is_deterministic_and_carries_every_field() -> None:
    packet = to_xmp(make_label())
    assert packet == to_xmp(make_label())
    assert packet.startswith(b'<?xpacket begin="\xef\xbb\xbf"')
    assert packet.endswith(b'<?xpacket end="r"?>')
    root = ET.fromstring(packet)
    desc = root.find(".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert desc is not None
    props = {child.tag: child.text for child in desc}
    assert props[f"{{{IPTC_EXT_NS}}}DigitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert props[f"{{{XCR_NS}}}receiptCid"] == RECEIPT_CID
    assert props[f"{{{XCR_NS}}}tokenId"] == "42"
    assert props[f"{{{XCR_NS}}}grossMg"] == "1100"
    assert props[f"{{{XCR_NS}}}grossG"] == "1.1"
    assert props[f"{{{XCR_NS}}}removedG"] == "1.3"
    assert props[f"{{{XCR_NS}}}ratio"] == "1.2"
    assert props[f"{{{XCR_NS}}}method"] == "measured"
    assert is_xcr_packet(packet)


@settings(max_examples=60, deadline=None)
@given(labels)
def test_xmp_round_trip(label: ImpactLabel) -> None:
    packet = to_xmp(label)
    assert parse_xmp(packet) == label
    assert ImpactLabel.from_dict(label.to_dict()) == label
    assert len(packet) < MAX_PACKET_BYTES


def test_parser_accepts_attribute_form() -> None:
    """Another XMP tool may write simple properties as attributes of rdf:Description."""
    label = make_label(token_id=9)
    attrs = " ".join(
        f'xcr:{p}="{v}"'
        for p, v in [
            ("version", 1),
            ("receiptCid", RECEIPT_CID),
            ("chainId", 31337),
            ("receiptContract", CONTRACT),
            ("tokenId", 9),
            ("grossMg", 1100),
            ("removedMg", 1300),
            ("ratioBps", 12000),
            ("method", "measured"),
            ("removalMethod", "biochar"),
            ("permanenceYears", 100),
            ("retirementStatus", "final"),
        ]
    )
    packet = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        f'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        f'xmlns:xcr="{XCR_NS}" xmlns:Iptc4xmpExt="{IPTC_EXT_NS}" '
        f'Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}" {attrs}/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    assert parse_xmp(packet) == label


def _edit(old: bytes, new: bytes) -> bytes:
    packet = to_xmp(make_label())
    assert old in packet
    return packet.replace(old, new, 1)


@pytest.mark.parametrize(
    ("packet", "field", "words"),
    [
        (b"x" * (MAX_PACKET_BYTES + 1), "label.xmp", str(MAX_PACKET_BYTES)),
        (b"\xff\xfe<x/>", "label.xmp", "UTF-8"),
        (b"<x:xmpmeta", "label.xmp", "well-formed"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "label.xmp", "DOCTYPE"),
        (_edit(b"<xcr:version>1<", b"<xcr:version>2<"), "label.version", "must be 1"),
        (_edit(b"   <xcr:tokenId>42</xcr:tokenId>\n", b""), "label.token_id", "missing"),
        (_edit(b"<xcr:tokenId>42<", b"<xcr:tokenId>0x2a<"), "label.token_id", "decimal"),
        (_edit(b"<xcr:tokenId>42<", b"<xcr:tokenId>042<"), "label.token_id", "decimal"),
        (_edit(b"<xcr:ratio>1.2<", b"<xcr:ratio>1.5<"), "label.ratio", "exact value is 1.2"),
        (_edit(b"<xcr:grossG>1.1<", b"<xcr:grossG>0.9<"), "label.grossG", "1.100"),
        (
            _edit(b"<xcr:method>", b"<xcr:method>measured</xcr:method><xcr:method>"),
            "label.method",
            "more than once",
        ),
        (_edit(b"<xcr:method>", b"<xcr:color>red</xcr:color><xcr:method>"), "label.color", "not"),
        (_edit(b"measured", b"measured-ish"), "label.method", "one of"),
        (
            _edit(
                b"<Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/"
                b"digitalsourcetype/trainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType>",
                b"",
            ),
            "label.digital_source_type",
            "missing",
        ),
        (b'<x xmlns:y="http://ns.adobe.com/xap/1.0/"/>', "label.version", "not an XCR label"),
    ],
)
def test_parser_rejects_malformed_packets(packet: bytes, field: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse_xmp(packet)
    assert info.value.field == field
    assert words in info.value.problem


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ([], "label"),
        ({**make_label().to_dict(), "version": 2}, "label.version"),
        ({**make_label().to_dict(), "extra": 1}, "label.extra"),
        ({k: v for k, v in make_label().to_dict().items() if k != "token_id"}, "label.token_id"),
        ({**make_label().to_dict(), "gross_mg": "1100"}, "label.gross_mg"),
    ],
)
def test_from_dict_rejects(doc: object, field: str) -> None:
    with pytest.raises(InputError) as info:
        ImpactLabel.from_dict(doc)
    assert info.value.field == field
