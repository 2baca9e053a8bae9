"""The fast path of ``canonical_json`` gives the general encoder's bytes and errors exactly."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcr_py.content import canonical
from xcr_py.content.canonical import canonical_json
from xcr_py.errors import InputError


def general(doc: object, root: str = "doc") -> bytes:
    """The general (path-tracking) encoder alone, as canonical_json was before its fast path."""
    parts: list[str] = []
    canonical._encode(doc, root, parts)
    return "".join(parts).encode("utf-8")


def outcome(fn: Any, doc: object) -> tuple[bytes | None, tuple[str, str] | None]:
    try:
        return fn(doc), None
    except InputError as exc:
        return None, (exc.field, str(exc))


# Keys and strings from every region that matters: ASCII controls, BMP, private use above
# the surrogates, astral (UTF-16 order differs from code-point order there), lone surrogates.
text = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=6)
floats = st.floats() | st.sampled_from([0.0, -0.0, 1e16, 1e-4, 9.999e-5, 1e21, 1e-7, 0.1, 1.0])
values = st.recursive(
    st.none() | st.booleans() | st.integers() | floats | text
    | st.sampled_from([b"x", frozenset({1}), 1j]),
    lambda children: (st.lists(children, max_size=4)
                      | st.lists(children, max_size=3).map(tuple)
                      | st.dictionaries(text | st.integers(), children, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=1500)
@given(values)
def test_same_bytes_or_same_error_as_the_general_encoder(doc: object) -> None:
    assert outcome(canonical_json, doc) == outcome(general, doc)


@pytest.mark.parametrize("value", [
    1.0, -2.0, 0.5, 1e15 + 0.5, 9007199254740993.0, 1e16, 1e-4, 9.999e-5, 123456.789, 1e21, 1e-7,
    5e-324, 1.7976931348623157e308, -0.0,
])
def test_floats_match_format_float(value: float) -> None:
    assert canonical_json([value]) == f"[{canonical.format_float(value)}]".encode()


def test_unusual_containers_fall_back_with_the_same_bytes() -> None:
    ordered = OrderedDict([("b", 1), ("a", [True, None])])
    assert canonical_json(ordered) == general(ordered) == b'{"a":[true,null],"b":1}'
    astral = {"\U0001f600": 1, "\ufb33": 2}  # UTF-16 order puts the astral key first
    assert canonical_json(astral) == general(astral)
    assert canonical_json(astral).startswith('{"\U0001f600"'.encode())


def test_errors_still_name_the_path() -> None:
    with pytest.raises(InputError, match=r"^receipt\.energy\.gpu_j: must be a finite number"):
        canonical_json({"energy": {"gpu_j": float("nan")}}, root="receipt")
    with pytest.raises(InputError, match=r"^doc\.a\[1\]: is not valid Unicode"):
        canonical_json({"a": ["ok", "\ud800"]})


@settings(max_examples=500)
@given(st.dictionaries(text, values, max_size=5))
def test_canonical_members_splices_encoded_values_into_the_same_bytes(doc: dict[str, Any],
                                                                      ) -> None:
    """An object from its members' canonical bytes equals the object encoded whole."""
    from xcr_py.content.canonical import canonical_members

    whole = outcome(canonical_json, doc)
    try:
        members = {k: canonical_json(v) for k, v in doc.items()}
        spliced = canonical_members(members)
    except InputError:
        assert whole[0] is None  # a value the whole encoding refuses too
        return
    assert whole[1] is None and spliced == whole[0]


def test_canonical_members_refuses_a_key_that_is_not_a_string() -> None:
    from xcr_py.content.canonical import canonical_members

    with pytest.raises(InputError, match="object keys must be strings"):
        canonical_members({1: b"2"})  # type: ignore[dict-item]
