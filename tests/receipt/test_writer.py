"""ReceiptWriter gives exactly what build_receipt + receipt_bytes give: the same bytes and
integers for what they accept, the same error for what they refuse."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.receipt.examples import parts
from xcr_py.content.cid import bytes_cid
from xcr_py.receipt import (
    CreditIntent,
    Factors,
    OracleInfo,
    build_receipt,
    receipt_bytes,
    validate_part,
)
from xcr_py.receipt.writer import ReceiptWriter, WrittenReceipt

BASE = parts()
FACTORS = validate_part(Factors, BASE["factors"], "factors")
CREDIT = validate_part(CreditIntent, BASE["credit"], "removal.credit")
ORACLE = validate_part(OracleInfo, BASE["oracle"], "oracle")

joules = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)
odd_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**6),
                        st.booleans(), st.none(), st.just("12"))


def _asset(data: bytes, **changes: Any) -> dict[str, Any]:
    asset = {"cid": str(bytes_cid(data)), "sha256": hashlib.sha256(data).hexdigest(),
             "media_type": "image/png", "bytes": len(data), "model": "xcr-procedural/1",
             "campaign": "spring", "creator": "0x00000000000000000000000000000000000000aa"}
    asset.update(changes)
    return {k: v for k, v in asset.items() if v is not _DROP}


_DROP = object()


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as exc:  # compared by type and message
        return type(exc).__name__, str(exc)


def _reference(kwargs: dict[str, Any]) -> tuple[str, Any]:
    def run() -> WrittenReceipt:
        r = build_receipt(**kwargs)
        e = r.emissions
        return WrittenReceipt(receipt_bytes(r), e.energy_mj, e.intensity_mg_per_kwh,
                              e.pue_milli, e.embodied_mg, e.gross_mg, r.removal.required_mg)
    return _outcome(run)


def _kwargs(asset: dict[str, Any], energy: dict[str, Any], **more: Any) -> dict[str, Any]:
    kwargs = {"asset": asset, "energy": energy, "factors": FACTORS, "ratio_bps": 15_000,
              "credit": CREDIT, "oracle": ORACLE,
              "created": datetime(2026, 12, 4, 9, 30, 1, 250, tzinfo=UTC), "schedule": None}
    kwargs.update(more)
    return kwargs


def _energy(gpu: Any, cpu: Any, low: Any = None, high: Any = None, **changes: Any
            ) -> dict[str, Any]:
    total = gpu + cpu if isinstance(gpu, float) and isinstance(cpu, float) else 1.0
    energy = {"gpu_j": gpu, "cpu_j": cpu, "window_s": 0.5, "method": "measured",
              "sources": ["nvml:0", "rapl:package-0"],
              "uncertainty": {"low": total * 0.9 if low is None else low,
                              "high": total * 1.1 + 1 if high is None else high}}
    energy.update(changes)
    if energy["uncertainty"] == "just below":  # the total just outside, past the slack
        energy["uncertainty"] = {"low": 0.0, "high": total * (1 - 1e-6) - 1e-6}
    return {k: v for k, v in energy.items() if v is not _DROP}


@settings(max_examples=150, deadline=None)
@given(gpu=joules, cpu=joules, ratio=st.integers(10_000, 60_000), payload=st.binary(max_size=64),
       micro=st.integers(0, 999_999), offset=st.integers(-12, 12),
       zone=st.one_of(st.none(), st.sampled_from(["DE", "FR"])),
       with_schedule=st.booleans())
def test_valid_inputs_give_the_reference_bytes_on_the_fast_path(
        gpu: float, cpu: float, ratio: int, payload: bytes, micro: int, offset: int,
        zone: str | None, with_schedule: bool) -> None:
    writer = ReceiptWriter()
    created = datetime(2026, 12, 4, 9, 30, 1, micro, tzinfo=timezone(timedelta(hours=offset)))
    schedule = {"hour": "2026-12-04T09:00:00Z", "zone": zone,
                "intensity_mg_per_kwh": 381_400} if with_schedule else None
    kwargs = _kwargs(_asset(payload), _energy(gpu, cpu), ratio_bps=ratio, created=created,
                     schedule=schedule)
    expected = _reference(kwargs)
    assert expected[0] == "ok"
    assert writer.write(**kwargs) == expected[1]
    assert writer.fallbacks == 0  # the fast path did the work


ASSET_CHANGES = [
    {}, {"campaign": _DROP}, {"creator": _DROP}, {"campaign": None}, {"creator": None},
    {"media_type": "Image/PNG"}, {"media_type": "image"}, {"model": ""}, {"model": "m" * 257},
    {"model": "modèle"}, {"model": "bad\ud800"},
    {"creator": "0x00000000000000000000000000000000000000AA"},
    {"creator": "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9C"}, {"creator": "0x12"},
    {"sha256": "00" * 32}, {"sha256": "AB" * 32}, {"bytes": -1}, {"bytes": 10**9},
    {"bytes": True}, {"bytes": 3.0}, {"cid": "bafkqaaa"}, {"cid": 7}, {"extra": 1},
    {"media_type": ["image/png"]},
]
ENERGY_CHANGES = [
    {}, {"method": "guessed"}, {"method": "declared"}, {"method": ["measured"]},
    {"sources": []}, {"sources": [""]}, {"sources": ["s" * 257]}, {"sources": ("nvml:0",)},
    {"sources": ["nvmlé:0"]}, {"sources": "nvml:0"}, {"window_s": -1.0}, {"window_s": 2},
    {"uncertainty": {"low": 5.0}}, {"uncertainty": {"low": 1e9, "high": 1.0}},
    {"uncertainty": {"low": 0.0, "high": 0.0}}, {"uncertainty": [0.0, 1.0]},
    {"uncertainty": "just below"},
    {"window_s": _DROP}, {"extra": 1},
]


@settings(max_examples=300, deadline=None)
@given(gpu=st.one_of(joules, odd_numbers), cpu=st.one_of(joules, odd_numbers),
       asset_changes=st.sampled_from(ASSET_CHANGES),
       energy_changes=st.sampled_from(ENERGY_CHANGES),
       ratio=st.one_of(st.integers(9_000, 20_000), st.just(True), st.just(15_000.0)),
       created=st.sampled_from([datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 4),
                                datetime(999, 1, 2, tzinfo=UTC), "2026-12-04T00:00:00Z"]),
       schedule=st.sampled_from([None, {"hour": "2026-12-04T09:00:00Z", "zone": "DE",
                                        "intensity_mg_per_kwh": 1},
                                 {"hour": "2026-12-04T09:30:00Z", "intensity_mg_per_kwh": 1},
                                 {"hour": "2026-12-04T09:00:00Z", "intensity_mg_per_kwh": -1},
                                 {"hour": "2026-12-04T09:00:00Z", "intensity_mg_per_kwh": 1,
                                  "extra": 0}]))
def test_any_input_gives_the_reference_bytes_or_the_reference_error(
        gpu: Any, cpu: Any, asset_changes: dict[str, Any], energy_changes: dict[str, Any],
        ratio: Any, created: Any, schedule: Any) -> None:
    kwargs = _kwargs(_asset(b"asset bytes", **asset_changes),
                     _energy(gpu, cpu, **energy_changes), ratio_bps=ratio, created=created,
                     schedule=schedule)
    assert _outcome(lambda: ReceiptWriter().write(**kwargs)) == _reference(kwargs)


@pytest.mark.parametrize("asset_changes", ASSET_CHANGES)
@pytest.mark.parametrize("energy_changes", ENERGY_CHANGES)
def test_each_edge_case_gives_the_reference_outcome(asset_changes: dict[str, Any],
                                                    energy_changes: dict[str, Any]) -> None:
    kwargs = _kwargs(_asset(b"asset bytes", **asset_changes),
                     _energy(5.0, 1.0, **energy_changes))
    assert _outcome(lambda: ReceiptWriter().write(**kwargs)) == _reference(kwargs)


def test_shared_parts_are_encoded_once_and_fresh_ones_are_not_mixed_up() -> None:
    writer = ReceiptWriter(size=2)  # small: the memory is cleared while writing
    other = validate_part(Factors, {**BASE["factors"], "embodied": {
        **BASE["factors"]["embodied"], "value": 0.5, "interval": {"low": 0.4, "high": 0.6}}},
        "factors")
    for k in range(6):
        kwargs = _kwargs(_asset(bytes([k])), _energy(10.0 + k, 1.5),
                         factors=FACTORS if k % 2 else other)
        assert writer.write(**kwargs) == _reference(kwargs)[1]
    assert writer.fallbacks == 0


def test_a_large_asset_goes_through_the_models() -> None:
    """Over one chunk the CID is a dag-pb root: the writer leaves it to build_receipt."""
    data = b"x" * (256 * 1024 + 1)
    kwargs = _kwargs(_asset(data), _energy(3.0, 1.0))
    writer = ReceiptWriter()
    assert writer.write(**kwargs) == _reference(kwargs)[1]
    assert writer.fallbacks == 1


def test_parts_given_as_dicts_go_through_the_models() -> None:
    kwargs = _kwargs(_asset(b"a"), _energy(3.0, 1.0), factors=BASE["factors"])
    writer = ReceiptWriter()
    assert writer.write(**kwargs) == _reference(kwargs)[1]
    assert writer.fallbacks == 1


@pytest.mark.parametrize("field", ["gpu_j", "cpu_j"])
def test_a_negative_energy_is_refused_naming_the_field(field: str) -> None:
    from xcr_py.receipt import ReceiptInvalid

    energy = _energy(3.0, 1.0)
    energy[field] = -1.0
    with pytest.raises(ReceiptInvalid) as info:
        ReceiptWriter().write(**_kwargs(_asset(b"a"), energy))
    assert info.value.field == f"energy.{field}"
