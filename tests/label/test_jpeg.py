"""The label as one removable APP1 XMP segment in real JPEG files made with Pillow."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from tests.label.helpers import jpeg_bytes, make_label
from xcr_py.embed import jpeg
from xcr_py.errors import InputError
from xcr_py.receipt.label import to_xmp

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

CASES = [
    pytest.param(jpeg_bytes((1, 1)), id="1x1"),
    pytest.param(jpeg_bytes((64, 48), seed=1), id="64x48-baseline"),
    pytest.param(jpeg_bytes((33, 7), "L", seed=2), id="grey"),
    pytest.param(jpeg_bytes((24, 24), "CMYK", seed=3), id="cmyk"),
    pytest.param(jpeg_bytes((64, 64), seed=4, progressive=True), id="progressive"),
    pytest.param(jpeg_bytes((64, 64), seed=5, restart_marker_blocks=1), id="restart-markers"),
    pytest.param(jpeg_bytes((40, 30), seed=6, exif=True), id="exif"),
    pytest.param(jpeg_bytes((40, 30), seed=7, icc_profile=SRGB_ICC), id="icc"),
    pytest.param(jpeg_bytes((40, 30), seed=8, comment=b"made by a model"), id="comment"),
    pytest.param(jpeg_bytes((200, 150), seed=9, subsampling=0, quality=100), id="200x150-q100"),
]


def _markers(data: bytes) -> list[int]:
    """Marker codes of the header segments up to SOS (test-side, independent walk)."""
    out, pos = [], 2
    while data[pos + 1] != 0xDA:
        out.append(data[pos + 1])
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return out


@pytest.mark.parametrize("original", CASES)
def test_round_trip_is_byte_exact(original: bytes) -> None:
    label = make_label()
    labelled = jpeg.embed(original, label)
    got_label, recovered = jpeg.extract(labelled)
    assert recovered == original
    assert got_label == label
    assert jpeg.strip(labelled) == original
    before, after = Image.open(io.BytesIO(original)), Image.open(io.BytesIO(labelled))
    assert after.tobytes() == before.tobytes()
    assert after.info["xmp"] == to_xmp(label)


def test_restart_marker_case_really_has_restart_markers() -> None:
    data = jpeg_bytes((64, 64), seed=5, restart_marker_blocks=1)
    assert 0xDD in _markers(data)  # DRI
    assert b"\xff\xd0" in data


def test_position_after_app0_and_exif_before_the_rest() -> None:
    original = jpeg_bytes((40, 30), exif=True, icc_profile=SRGB_ICC)
    assert _markers(original)[:3] == [0xE0, 0xE1, 0xE2]
    labelled = jpeg.embed(original, make_label())
    markers = _markers(labelled)
    assert markers[:4] == [0xE0, 0xE1, 0xE1, 0xE2]  # JFIF, Exif, XCR XMP, ICC
    segment = jpeg.find_label(labelled)
    assert segment is not None
    assert labelled[segment.offset + 4 :].startswith(jpeg.XMP_HEADER + b"<?xpacket")


def test_position_with_exif_first_and_no_jfif() -> None:
    with_jfif = jpeg_bytes(exif=True)
    app0_len = struct.unpack(">H", with_jfif[4:6])[0]
    original = with_jfif[:2] + with_jfif[4 + app0_len :]  # drop APP0: Exif-style file
    assert _markers(original)[0] == 0xE1
    labelled = jpeg.embed(original, make_label())
    segment = jpeg.find_label(labelled)
    assert segment is not None
    exif_end = 2 + 2 + struct.unpack(">H", original[4:6])[0]
    assert segment.offset == exif_end
    assert jpeg.extract(labelled) == (make_label(), original)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 48),
    height=st.integers(1, 48),
    mode=st.sampled_from(["RGB", "L"]),
    progressive=st.booleans(),
    exif=st.booleans(),
    seed=st.integers(0, 2**16),
    token_id=st.integers(0, 2**256 - 1),
)
def test_round_trip_property(
    width: int, height: int, mode: str, progressive: bool, exif: bool, seed: int, token_id: int
) -> None:
    original = jpeg_bytes((width, height), mode, seed=seed, exif=exif, progressive=progressive)
    label = make_label(token_id=token_id)
    assert jpeg.extract(jpeg.embed(original, label)) == (label, original)


def test_tampered_label_is_a_label_change_and_keeps_the_original() -> None:
    original = jpeg_bytes(seed=10)
    labelled = jpeg.embed(original, make_label(token_id=42, removed_mg=1_300))
    forged = labelled.replace(b"<xcr:tokenId>42<", b"<xcr:tokenId>43<")  # no checksum to fix
    label, recovered = jpeg.extract(forged)
    assert label.token_id == 43
    assert recovered == original
    # A forged number whose human-readable twin was not updated is rejected outright.
    with pytest.raises(InputError) as info:
        jpeg.extract(labelled.replace(b"<xcr:removedMg>1300<", b"<xcr:removedMg>9300<"))
    assert info.value.field == "label.removedG"


def test_tampered_image_byte_changes_the_recovered_original() -> None:
    original = jpeg_bytes(seed=11)
    labelled = jpeg.embed(original, make_label())
    # Flip a bit inside the entropy-coded data (after SOS), avoiding 0xFF bytes.
    sos = labelled.index(b"\xff\xda")
    pos = next(i for i in range(sos + 20, len(labelled) - 2) if labelled[i] not in (0xFF, 0xFE))
    forged = labelled[:pos] + bytes([labelled[pos] ^ 0x01]) + labelled[pos + 1 :]
    label, recovered = jpeg.extract(forged)
    assert label == make_label()
    assert recovered != original
    assert len(recovered) == len(original)


def test_refuses_double_label_and_foreign_xmp() -> None:
    labelled = jpeg.embed(jpeg_bytes(), make_label())
    with pytest.raises(InputError, match="already carries an XCR label") as info:
        jpeg.embed(labelled, make_label(token_id=1))
    assert info.value.field == "label"
    foreign = jpeg_bytes(xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    with pytest.raises(InputError, match="foreign XMP") as info:
        jpeg.embed(foreign, make_label())
    assert info.value.field == "xmp"
    assert jpeg.strip(foreign) == foreign


def test_extended_xmp_counts_as_foreign() -> None:
    original = jpeg_bytes()
    payload = jpeg.XMP_EXTENSION_HEADER + b"0" * 40
    ext = b"\xff\xe1" + struct.pack(">H", 2 + len(payload)) + payload
    data = original[:2] + ext + original[2:]
    with pytest.raises(InputError, match="foreign XMP"):
        jpeg.embed(data, make_label())


def test_two_labels_are_rejected() -> None:
    labelled = jpeg.embed(jpeg_bytes(), make_label())
    segment = jpeg.find_label(labelled)
    assert segment is not None
    seg = labelled[segment.offset : segment.end]
    with pytest.raises(InputError, match="found 2 XCR label") as info:
        jpeg.extract(labelled[:2] + seg + labelled[2:])
    assert info.value.field == "label"


def test_unlabelled_extract_and_strip() -> None:
    original = jpeg_bytes()
    with pytest.raises(InputError, match="no XCR label"):
        jpeg.extract(original)
    assert jpeg.strip(original) == original


def test_bytes_after_eoi_are_kept() -> None:
    """Multi-Picture files keep further images after the first EOI: they must survive."""
    original = jpeg_bytes() + b"second image bytes"
    assert jpeg.extract(jpeg.embed(original, make_label())) == (make_label(), original)


@pytest.mark.parametrize("cut", [1, 2, 3, 10, 25, 200, -300, -2, -1])
def test_truncated_file_is_rejected(cut: int) -> None:
    labelled = jpeg.embed(jpeg_bytes((40, 30)), make_label())
    with pytest.raises(InputError) as info:
        jpeg.extract(labelled[:cut])
    assert info.value.field == "jpeg"


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: b"\xff\xd9" + d[2:], "SOI"),
        (lambda d: d[:2] + b"\x00" + d[3:], "expected a marker"),
        (lambda d: d[:2] + b"\xff\xd8" + d[2:], "invalid marker"),
        (lambda d: d[:4] + b"\x00\x01" + d[6:], "has length 1"),
    ],
)
def test_corrupt_structure_is_rejected(mutate: object, words: str) -> None:
    assert callable(mutate)
    with pytest.raises(InputError, match=words) as info:
        jpeg.embed(mutate(jpeg_bytes()), make_label())
    assert info.value.field == "jpeg"


def test_scan_before_frame_and_missing_scan_are_rejected() -> None:
    data = jpeg_bytes()
    sof = data.index(b"\xff\xc0")
    sof_len = struct.unpack(">H", data[sof + 2 : sof + 4])[0]
    with pytest.raises(InputError, match="before any frame header"):
        jpeg.embed(data[:sof] + data[sof + 2 + sof_len :], make_label())
    sos = data.index(b"\xff\xda")
    with pytest.raises(InputError, match="no scan"):
        jpeg.embed(data[:sos] + b"\xff\xd9", make_label())
