"""Damaged files: the readers answer with a label or an InputError, never anything else."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.label.helpers import jpeg_bytes, make_label, png_bytes
from xcr_py import embed as emb
from xcr_py.errors import InputError
from xcr_py.receipt.label import parse_xmp, to_xmp

LABELLED = {
    "png": emb.embed(png_bytes((24, 16), text={"k": "v"}), make_label()),
    "jpeg": emb.embed(jpeg_bytes((24, 16), exif=True, restart_marker_blocks=1), make_label()),
}

edits = st.lists(
    st.tuples(
        st.sampled_from(["flip", "cut", "insert", "delete"]), st.floats(0, 1), st.integers(0, 255)
    ),
    min_size=1,
    max_size=3,
)


def _damage(data: bytes, plan: list[tuple[str, float, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, byte in plan:
        i = min(int(where * len(out)), max(len(out) - 1, 0))
        if kind == "flip" and out:
            out[i] ^= byte or 1
        elif kind == "cut":
            del out[i:]
        elif kind == "insert":
            out.insert(i, byte)
        elif kind == "delete" and out:
            del out[i]
    return bytes(out)


@pytest.mark.parametrize("kind", sorted(LABELLED))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=edits)
def test_damaged_files_raise_input_error_only(
    kind: str, plan: list[tuple[str, float, int]]
) -> None:
    data = _damage(LABELLED[kind], plan)
    for call in (emb.strip, emb.find_label):
        with contextlib.suppress(InputError):
            call(data)
    try:
        label, original = emb.extract(data)
    except InputError:
        return
    # Whatever survived is coherent: the recovered original labels and unlabels exactly.
    with contextlib.suppress(InputError):  # e.g. the damage produced a foreign XMP packet
        assert emb.extract(emb.embed(original, label)) == (label, original)


@settings(max_examples=150, deadline=None)
@given(plan=edits)
def test_damaged_packets_raise_input_error_only(plan: list[tuple[str, float, int]]) -> None:
    with contextlib.suppress(InputError):
        label = parse_xmp(_damage(to_xmp(make_label()), plan))
        assert parse_xmp(to_xmp(label)) == label
