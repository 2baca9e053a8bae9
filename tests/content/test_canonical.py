"""Canonical JSON (RFC 8785 with exact integers) and the CID of a document."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xcr_py.content import canonical_json, json_cid, raw_cid
from xcr_py.content.canonical import format_float
from xcr_py.errors import InputError


def test_sorted_keys_no_whitespace_utf8() -> None:
    doc = {"b": 1, "a": {"z": [1, 2], "y": None}, "é": "ü", "A": True}
    assert canonical_json(doc) == '{"A":true,"a":{"y":null,"z":[1,2]},"b":1,"é":"ü"}'.encode()


def test_same_document_any_key_order_same_bytes_and_cid() -> None:
    a = {"x": 1, "y": {"p": "q", "r": [3, 2, 1]}}
    b = {"y": {"r": [3, 2, 1], "p": "q"}, "x": 1}
    assert canonical_json(a) == canonical_json(b)
    assert json_cid(a) == json_cid(b)


def test_keys_sorted_by_utf16_code_units_rfc8785_example() -> None:
    # RFC 8785 §3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16 order,
    # though its code point is larger.
    doc = {"\ufb33": 1, "\U0001f600": 2, "\r": 3, "1": 4, "\u00e9": 5}
    out = canonical_json(doc).decode()
    keys = list(json.loads(out))
    assert keys == ["\r", "1", "\u00e9", "\U0001f600", "\ufb33"]


def test_string_escapes_follow_jcs() -> None:
    s = 'q"b\\\b\t\n\f\r\x01\x1f\x7f€'
    assert canonical_json(s) == b'"q\\"b\\\\\\b\\t\\n\\f\\r\\u0001\\u001f\x7f\xe2\x82\xac"'


def test_big_integers_stay_exact() -> None:
    assert canonical_json({"wei": 10**30, "neg": -(2**70)}) == (
        b'{"neg":-1180591620717411303424,"wei":1000000000000000000000000000000}'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # RFC 8785 appendix B / ECMAScript Number::toString examples
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (123.456, "123.456"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740992.0, "9007199254740992"),
        (295147905179352830000.0, "295147905179352830000"),
        (0.000001234, "0.000001234"),
        (1.234e-7, "1.234e-7"),
        (4.5e22, "4.5e+22"),
        (333333333.3333333, "333333333.3333333"),
    ],
)
def test_float_format_is_ecmascript(value: float, text: str) -> None:
    assert format_float(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_format_round_trips(value: float) -> None:
    assert float(format_float(value)) == value


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_rejected_with_field_path(bad: float) -> None:
    doc = {"energy": {"samples": [1.0, bad]}}
    with pytest.raises(InputError) as err:
        canonical_json(doc)
    assert err.value.field == "doc.energy.samples[1]"
    assert "finite" in str(err.value)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"a": b"bytes"}, "doc.a"),
        ({"a": {1, 2}}, "doc.a"),
        ({1: "x"}, "doc.1"),
        ({"a": [{"b": object()}]}, "doc.a[0].b"),
        ({"s": "lone \ud800 surrogate"}, "doc.s"),
    ],
)
def test_non_json_values_rejected_naming_the_field(doc: object, field: str) -> None:
    with pytest.raises(InputError) as err:
        canonical_json(doc)
    assert err.value.field == field


def test_json_cid_is_raw_cid_of_canonical_bytes() -> None:
    doc = {"schema": "xcr/receipt/1", "bytes": 3}
    data = canonical_json(doc)
    cid = json_cid(doc)
    assert cid == raw_cid(data)
    assert str(cid).startswith("bafkrei")
    assert cid.digest[2:] == hashlib.sha256(data).digest()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_output_is_json_and_a_fixed_point(doc: object) -> None:
    # Integral floats print without a fraction (JCS), so they may parse back as ints; the
    # encoding of what parses back must still be identical.
    out = canonical_json(doc)
    assert canonical_json(json.loads(out)) == out


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_float_free_documents_parse_back_equal(doc: object) -> None:
    assert json.loads(canonical_json(doc)) == doc
