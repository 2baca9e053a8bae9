"""The label as one removable iTXt chunk in real PNG files made with Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.label.helpers import (
    fix_png_crc,
    make_label,
    png_bytes,
    png_chunk,
    png_chunk_spans,
)
from xcr_py.embed import png
from xcr_py.errors import InputError
from xcr_py.receipt.label import to_xmp

CASES = [
    pytest.param(png_bytes((1, 1)), id="1x1-rgb"),
    pytest.param(png_bytes((64, 48), "RGBA", seed=1), id="64x48-rgba"),
    pytest.param(png_bytes((33, 7), "L", seed=2), id="33x7-grey"),
    pytest.param(png_bytes((20, 20), "P", seed=3), id="20x20-palette"),
    pytest.param(png_bytes((16, 16), "1", seed=4), id="16x16-bilevel"),
    pytest.param(png_bytes((40, 30), seed=5, text={"prompt": "a red fox", "seed": "7"}), id="text"),
    pytest.param(png_bytes((300, 200), seed=6), id="300x200-multi-idat"),
]


@pytest.mark.parametrize("original", CASES)
def test_round_trip_is_byte_exact(original: bytes) -> None:
    label = make_label()
    labelled = png.embed(original, label)
    got_label, recovered = png.extract(labelled)
    assert recovered == original
    assert got_label == label
    assert png.strip(labelled) == original
    # Still a PNG any reader decodes to the same pixels, and readers see the XMP.
    before, after = Image.open(io.BytesIO(original)), Image.open(io.BytesIO(labelled))
    assert after.tobytes() == before.tobytes()
    assert after.info["xmp"] == to_xmp(label)


def test_label_chunk_sits_right_after_ihdr() -> None:
    labelled = png.embed(png_bytes(), make_label())
    spans = png_chunk_spans(labelled)
    assert [s[0] for s in spans[:2]] == [b"IHDR", b"iTXt"]
    segment = png.find_label(labelled)
    assert segment is not None
    assert (segment.offset, segment.end) == spans[1][1:]
    assert labelled[segment.offset + 8 :].startswith(b"XML:com.adobe.xmp\0\0\0\0\0<?xpacket")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    mode=st.sampled_from(["RGB", "RGBA", "L", "P"]),
    seed=st.integers(0, 2**16),
    token_id=st.integers(0, 2**256 - 1),
)
def test_round_trip_property(width: int, height: int, mode: str, seed: int, token_id: int) -> None:
    original = png_bytes((width, height), mode, seed=seed)
    label = make_label(token_id=token_id)
    assert png.extract(png.embed(original, label)) == (label, original)


def test_tampered_label_is_a_label_change_and_keeps_the_original() -> None:
    original = png_bytes(seed=8)
    labelled = png.embed(original, make_label(token_id=42))
    # An attacker edits the token id and the derived text to match, then fixes the CRC.
    forged = labelled.replace(b"<xcr:tokenId>42<", b"<xcr:tokenId>43<")
    forged = fix_png_crc(forged, 33)  # the label chunk follows the 33-byte signature+IHDR
    label, recovered = png.extract(forged)
    assert label.token_id == 43  # the change shows up as a different label ...
    assert recovered == original  # ... bound to the same, unchanged asset bytes
    # Without the CRC fix the edit is caught as corruption.
    with pytest.raises(InputError, match="CRC mismatch") as info:
        png.extract(labelled.replace(b"<xcr:tokenId>42<", b"<xcr:tokenId>43<"))
    assert info.value.field == "png"


def test_tampered_image_byte_changes_the_recovered_original() -> None:
    original = png_bytes(seed=9)
    labelled = png.embed(original, make_label())
    idat = next(s for s in png_chunk_spans(labelled) if s[0] == b"IDAT")
    pos = idat[1] + 8 + 5
    forged = labelled[:pos] + bytes([labelled[pos] ^ 0x01]) + labelled[pos + 1 :]
    forged = fix_png_crc(forged, idat[1])
    label, recovered = png.extract(forged)
    assert label == make_label()
    assert recovered != original
    assert len(recovered) == len(original)


def test_refuses_double_label_and_foreign_xmp() -> None:
    labelled = png.embed(png_bytes(), make_label())
    with pytest.raises(InputError, match="already carries an XCR label") as info:
        png.embed(labelled, make_label(token_id=1))
    assert info.value.field == "label"
    foreign = png_bytes(xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    with pytest.raises(InputError, match="foreign XMP") as info:
        png.embed(foreign, make_label())
    assert info.value.field == "xmp"
    assert png.strip(foreign) == foreign  # a foreign packet is never ours to remove


def test_two_labels_are_rejected() -> None:
    original = png_bytes()
    labelled = png.embed(original, make_label())
    segment = png.find_label(labelled)
    assert segment is not None
    chunk = labelled[segment.offset : segment.end]
    doubled = labelled[: segment.end] + chunk + labelled[segment.end :]
    with pytest.raises(InputError, match="found 2 XCR label") as info:
        png.extract(doubled)
    assert info.value.field == "label"


def test_unlabelled_extract_and_strip() -> None:
    original = png_bytes()
    with pytest.raises(InputError, match="no XCR label"):
        png.extract(original)
    assert png.strip(original) == original
    assert png.find_label(original) is None


def test_compressed_label_chunk_is_read() -> None:
    """Another tool may recompress the iTXt text; removing the chunk still restores the file."""
    original = png_bytes()
    body = b"XML:com.adobe.xmp\0\x01\x00\0\0" + zlib.compress(to_xmp(make_label()))
    data = original[:33] + png_chunk(b"iTXt", body) + original[33:]
    assert png.extract(data) == (make_label(), original)


def test_label_may_be_moved_by_another_tool() -> None:
    original = png_bytes(text={"prompt": "x"})
    chunk = png.embed(original, make_label())[33:]
    chunk = chunk[: struct.unpack(">I", chunk[:4])[0] + 12]
    iend = len(original) - 12
    moved = original[:iend] + chunk + original[iend:]
    assert png.extract(moved) == (make_label(), original)


@pytest.mark.parametrize("cut", [0, 7, 8, 20, 33, 40, -13, -12, -1])
def test_truncated_file_is_rejected(cut: int) -> None:
    labelled = png.embed(png_bytes(), make_label())
    with pytest.raises(InputError) as info:
        png.extract(labelled[:cut])
    assert info.value.field == "png"


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d + b"junk", "follow the IEND"),
        (lambda d: fix_png_crc(d[:12] + b"IHDX" + d[16:], 8), "first chunk must be"),
        (lambda d: fix_png_crc(d[:12] + b"IH1R" + d[16:], 8), "invalid type"),
        (lambda d: d[:8] + struct.pack(">I", 2**31) + d[12:], "2\\*\\*31-1"),
        (lambda d: b"\x89PNG\r\n\x1a\x0b" + d[8:], "signature"),
    ],
)
def test_corrupt_file_is_rejected(mutate: object, words: str) -> None:
    data = png_bytes()
    assert callable(mutate)
    with pytest.raises(InputError, match=words) as info:
        png.embed(mutate(data), make_label())
    assert info.value.field == "png"


def test_file_without_idat_is_rejected() -> None:
    data = png_bytes()
    no_idat = b"".join(data[a:b] for t, a, b in png_chunk_spans(data) if t != b"IDAT")
    with pytest.raises(InputError, match="no IDAT"):
        png.embed(data[:8] + no_idat, make_label())


def test_malformed_label_chunk_names_label_field() -> None:
    original = png_bytes()
    bad = to_xmp(make_label()).replace(b"<xcr:chainId>31337<", b"<xcr:chainId>0<")
    data = original[:33] + png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + bad) + original[33:]
    with pytest.raises(InputError) as info:
        png.extract(data)
    assert info.value.field == "label.chain_id"
