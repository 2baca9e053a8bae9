"""The impact badge: wording rules, SVG and PNG rendering."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.label.helpers import RECEIPT_CID, make_label
from xcr_py.badge import badge_text, format_mass_mg, render_png, render_svg
from xcr_py.errors import InputError
from xcr_py.receipt.label import XCR_NS

SVG_NS = "{http://www.w3.org/2000/svg}"
_UNIT_MG = {"mg": 1, "g": 10**3, "kg": 10**6, "t": 10**9}


def _shown_mg(text: str) -> Decimal:
    number, unit = text.split(" ")
    return Decimal(number) * _UNIT_MG[unit]


@pytest.mark.parametrize(
    ("mg", "sig", "rounding", "text"),
    [
        (0, 2, "up", "0 g"),
        (1_100, 2, "up", "1.1 g"),
        (1_101, 2, "up", "1.2 g"),
        (1_199, 2, "down", "1.1 g"),
        (1_100, 3, "up", "1.10 g"),
        (995, 2, "up", "1.0 g"),
        (999, 3, "down", "999 mg"),
        (7, 2, "up", "7.0 mg"),
        (12_345_678, 2, "up", "13 kg"),
        (2_500_000_000, 2, "down", "2.5 t"),
        (
            2**256 - 1,
            2,
            "up",
            "120000000000000000000000000000000000000000000000000000000000000000000 t",
        ),
    ],
)
def test_format_mass(mg: int, sig: int, rounding: str, text: str) -> None:
    assert format_mass_mg(mg, sig, rounding) == text  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(mg=st.integers(0, 10**15), sig=st.integers(1, 4))
def test_rounding_is_conservative_and_honest_about_precision(mg: int, sig: int) -> None:
    up, down = format_mass_mg(mg, sig, "up"), format_mass_mg(mg, sig, "down")
    assert _shown_mg(up) >= mg >= _shown_mg(down)
    for shown in (up, down):
        number = shown.split(" ")[0]
        digits = number.replace(".", "").lstrip("0")
        if "." not in number:
            digits = digits.rstrip("0")  # trailing zeros of an integer are not significant
        assert len(digits) <= sig


def test_example_wording() -> None:
    words = badge_text(make_label(method="estimated", gross_mg=1_100, removed_mg=1_300))
    assert words.figures == "Removed 1.3 g CO2e for ~1.1 g emitted (estimated)"
    assert words.one_line.startswith(
        "Removed 1.3 g CO2e for ~1.1 g emitted (estimated) · biochar, 100+ years"
    )
    assert words.verify == "verify: ipfs://bafkreibno…egsiqe"
    measured = badge_text(make_label(method="measured"))
    assert measured.figures == "Removed 1.30 g CO2e for 1.10 g emitted (measured)"
    bench = badge_text(make_label(method="estimated (published benchmark)"))
    assert "~1.1 g emitted (estimated from a published benchmark)" in bench.figures


def _all_text(label_kwargs: dict[str, object]) -> str:
    label = make_label(**label_kwargs)
    words = badge_text(label)
    png = Image.open(io.BytesIO(render_png(label, scale=1)))
    return "\n".join(
        [*words.lines, words.title, words.one_line, render_svg(label), *png.text.values()]
    )


@pytest.mark.parametrize(
    ("kwargs", "neutral"),
    [
        ({"gross_mg": 1_000, "removed_mg": 1_000, "retirement_status": "final"}, True),
        ({"gross_mg": 1_000, "removed_mg": 5_000, "retirement_status": "final"}, True),
        ({"gross_mg": 1_000, "removed_mg": 999, "retirement_status": "final"}, False),
        ({"gross_mg": 1_000, "removed_mg": 5_000, "retirement_status": "pending"}, False),
        ({"gross_mg": 1_000, "removed_mg": 999, "retirement_status": "pending"}, False),
    ],
)
def test_carbon_neutral_only_when_covered_and_final(
    kwargs: dict[str, object], neutral: bool
) -> None:
    text = _all_text(kwargs).lower()
    assert ("carbon neutral" in text) is neutral
    assert badge_text(make_label(**kwargs)).carbon_neutral is neutral


@settings(max_examples=100, deadline=None)
@given(
    gross=st.integers(0, 10**12),
    removed=st.integers(0, 10**12),
    status=st.sampled_from(["pending", "final"]),
    method=st.sampled_from(["measured", "estimated", "estimated (published benchmark)"]),
)
def test_carbon_neutral_rule_property(gross: int, removed: int, status: str, method: str) -> None:
    label = make_label(gross_mg=gross, removed_mg=removed, retirement_status=status, method=method)
    words = badge_text(label)
    claims = "carbon neutral" in " ".join((*words.lines, words.title)).lower()
    assert claims is (removed >= gross and status == "final")
    if method != "measured":
        assert "~" in words.figures and "estimated" in words.figures
    else:
        assert "~" not in words.figures and "(measured)" in words.figures


def test_partial_cover_states_the_floor_share() -> None:
    words = badge_text(make_label(gross_mg=1_000, removed_mg=999))
    assert words.status == "partial"
    assert "covers 99% of emissions" in words.headline


def test_svg_is_self_contained_deterministic_and_complete() -> None:
    label = make_label()
    svg = render_svg(label)
    assert svg == render_svg(make_label())
    for forbidden in ("href", "url(", "<image", "<script", "<style", "@import", "@font-face"):
        assert forbidden not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    title = root.findtext(f"{SVG_NS}title") or ""
    assert f"ipfs://{RECEIPT_CID}" in title
    assert label.receipt_contract in title and "token 42" in title and "chain 31337" in title
    drawn = [t.text or "" for t in root.iter(f"{SVG_NS}text")]
    assert drawn == list(badge_text(label).lines)
    assert all(float(t.get("textLength", "0")) > 0 for t in root.iter(f"{SVG_NS}text"))
    metadata = root.find(f"{SVG_NS}metadata")
    assert metadata is not None
    assert metadata.find(f".//{{{XCR_NS}}}receiptCid") is not None
    # Every drawn line fits inside the badge.
    width = float(root.get("width", "0"))
    assert all(
        float(t.get("x", "0")) + float(t.get("textLength", "0")) < width
        for t in root.iter(f"{SVG_NS}text")
    )


def test_svg_escapes_text() -> None:
    svg = render_svg(make_label(removal_method="rock & roll weathering"))
    assert "rock &amp; roll weathering" in svg
    ET.fromstring(svg)


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_png_badge_renders_deterministically(scale: int) -> None:
    label = make_label(method="estimated")
    data = render_png(label, scale=scale)
    assert data == render_png(label, scale=scale)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.height == (24 + 3 * 18 + 10) * scale
    assert f"ipfs://{RECEIPT_CID}" in image.text["Description"]
    # Text was drawn: the body area holds dark pixels, the header the accent colour.
    rgb = image.convert("RGB")
    assert rgb.getpixel((image.width // 2, 3 * scale)) == (26, 127, 55)  # green: neutral
    body = rgb.crop((0, 30 * scale, image.width, image.height))
    dark = sum(body.convert("L").histogram()[:70])  # pixels of (anti-aliased) dark text
    assert dark > 50 * scale


def test_png_badge_colour_follows_status_and_scale_is_checked() -> None:
    pending = Image.open(io.BytesIO(render_png(make_label(retirement_status="pending"), scale=1)))
    assert pending.convert("RGB").getpixel((pending.width // 2, 3)) == (154, 103, 0)
    for bad in (0, 9, True, 1.5):
        with pytest.raises(InputError) as info:
            render_png(make_label(), scale=bad)  # type: ignore[arg-type]
        assert info.value.field == "scale"


def test_badge_text_never_exceeds_its_method_precision() -> None:
    words = badge_text(make_label(method="estimated", gross_mg=1_234_567, removed_mg=1_500_000))
    numbers = re.findall(r"(\d+(?:\.\d+)?) (?:mg|g|kg|t) ", words.figures)
    assert numbers == ["1.5", "1.3"]  # removed rounds down, gross (estimate) up, 2 s.f.
