"""Build, parse and encode receipts: canonical bytes, digest and CID.

``receipt_bytes`` is the canonical JSON of the document (RFC 8785 with exact integers, see
:mod:`xcr_py.content.canonical`); ``receipt_digest`` is ``sha256`` of those bytes, the value
the signed report and the receipt token carry; ``receipt_cid`` is the CID of those bytes as
``ipfs add --cid-version=1 --raw-leaves`` would give it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from multiformats import CID
from pydantic import BaseModel, ValidationError

from xcr_py import units
from xcr_py.content.canonical import canonical_json
from xcr_py.errors import InputError, ReceiptError
from xcr_py.receipt.model import (
    Asset,
    BatchInfo,
    CreditIntent,
    Emissions,
    Energy,
    Factors,
    Interval,
    OracleInfo,
    Receipt,
    Removal,
    Schedule,
    j_to_mj,
    value_to_milli,
)

__all__ = [
    "ReceiptInvalid",
    "build_receipt",
    "parse_receipt",
    "receipt_bytes",
    "receipt_cid",
    "receipt_digest",
    "receipt_document",
    "validate_part",
]

_J_PER_KWH = 3_600_000.0
P = TypeVar("P", bound=BaseModel)
_DOTTED = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")


class ReceiptInvalid(ReceiptError, InputError):
    """A receipt (or a part given to :func:`build_receipt`) is invalid.

    ``field`` is the dotted path inside the receipt (``energy.gpu_j``); ``problem`` says
    which limit it broke. Both a :class:`ReceiptError` and an :class:`InputError`.
    """


def validate_part(model: type[P], value: BaseModel | Mapping[str, Any], name: str) -> P:
    """``value`` as a validated receipt part (``model``); an instance is taken as it is.

    For callers that reuse one part across many receipts (validated once).

    Raises:
        ReceiptInvalid: ``value`` breaks the part's schema; ``field`` starts with ``name``.
    """
    return _part(model, value, name)


def _part(model: type[BaseModel], value: BaseModel | Mapping[str, Any], name: str) -> Any:
    if isinstance(value, model):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise _invalid(exc, prefix=name) from None


def build_receipt(
    *,
    asset: Asset | Mapping[str, Any],
    energy: Energy | Mapping[str, Any],
    factors: Factors | Mapping[str, Any],
    ratio_bps: int,
    credit: CreditIntent | Mapping[str, Any],
    oracle: OracleInfo | Mapping[str, Any],
    created: datetime | None = None,
    schedule: Schedule | Mapping[str, Any] | None = None,
    batch: BatchInfo | Mapping[str, Any] | None = None,
) -> Receipt:
    """Assemble a receipt, deriving the on-chain integers and the gross-emissions interval.

    The integers come from the stated values through :mod:`xcr_py.units` (rounding up);
    ``emissions.interval_g`` propagates the energy and factor intervals (all factors are
    non-negative, so the bounds are the products of the bounds).

    Args:
        created: build time (timezone-aware); defaults to now, UTC.

    Raises:
        ReceiptInvalid: a part is invalid; ``field`` is its dotted path in the receipt.
    """
    asset_m: Asset = _part(Asset, asset, "asset")
    energy_m: Energy = _part(Energy, energy, "energy")
    factors_m: Factors = _part(Factors, factors, "factors")
    credit_m: CreditIntent = _part(CreditIntent, credit, "removal.credit")
    oracle_m: OracleInfo = _part(OracleInfo, oracle, "oracle")
    schedule_m = None if schedule is None else _part(Schedule, schedule, "schedule")
    batch_m = None if batch is None else _part(BatchInfo, batch, "batch")
    if isinstance(ratio_bps, bool) or not isinstance(ratio_bps, int) \
            or ratio_bps < units.MIN_RATIO_BPS:
        raise ReceiptInvalid("removal.ratio_bps",
                             f"must be an integer >= {units.MIN_RATIO_BPS}, got {ratio_bps!r}")
    when = datetime.now(UTC) if created is None else created
    if when.tzinfo is None:
        raise ReceiptInvalid("created", "must be timezone-aware")

    energy_mj = j_to_mj(energy_m.gpu_j, energy_m.cpu_j)
    intensity = value_to_milli(factors_m.intensity.value)
    pue = value_to_milli(factors_m.pue.value)
    embodied = value_to_milli(factors_m.embodied.value)
    gross_mg = units.gross_emissions_mg(energy_mj, intensity, pue, embodied)
    gross_g = gross_mg / 1000

    def bound(e_j: float, i: Interval, p: Interval, m: Interval, side: str) -> float:
        pick = (lambda x: x.low) if side == "low" else (lambda x: x.high)
        return e_j / _J_PER_KWH * pick(i) * pick(p) + pick(m)

    f = factors_m
    low = bound(energy_m.uncertainty.low, f.intensity.interval, f.pue.interval,
                f.embodied.interval, "low")
    high = bound(energy_m.uncertainty.high, f.intensity.interval, f.pue.interval,
                 f.embodied.interval, "high")
    # Bounds are rounded outward to the microgram (readable, still conservative); integer
    # rounding only ever moves the point value up, so keep it inside its own interval.
    interval = Interval(low=min(math.floor(low * 1e6) / 1e6, gross_g),
                        high=max(math.ceil(high * 1e6) / 1e6, gross_g))

    doc = {
        "schema": "xcr.receipt/1",
        "asset": asset_m,
        "energy": energy_m,
        "factors": factors_m,
        "emissions": Emissions(gross_g=gross_g, interval_g=interval, energy_mj=energy_mj,
                               intensity_mg_per_kwh=intensity, pue_milli=pue,
                               embodied_mg=embodied, gross_mg=gross_mg),
        "removal": Removal(ratio_bps=ratio_bps,
                           required_mg=units.required_removal_mg(gross_mg, ratio_bps),
                           credit=credit_m),
        "oracle": oracle_m,
        "schedule": schedule_m,
        "batch": batch_m,
        "created": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    try:
        # Parts are validated model instances already: pydantic takes them as they are
        # and only the receipt-level checks (the arithmetic) run again.
        return Receipt.model_validate(doc)
    except ValidationError as exc:
        raise _invalid(exc) from None


def receipt_document(receipt: Receipt) -> dict[str, Any]:
    """The receipt as a JSON-ready dict (absent optional parts are omitted, not null)."""
    return receipt.model_dump(mode="json", by_alias=True, exclude_none=True)


def receipt_bytes(receipt: Receipt) -> bytes:
    """Canonical JSON bytes of the receipt: what is pinned and hashed."""
    return canonical_json(receipt_document(receipt), root="receipt")


def receipt_digest(receipt: Receipt | bytes) -> bytes:
    """sha256 of the canonical bytes (32 bytes): the digest signed reports and tokens carry."""
    data = receipt if isinstance(receipt, bytes) else receipt_bytes(receipt)
    return hashlib.sha256(data).digest()


def receipt_cid(receipt: Receipt | bytes) -> CID:
    """CIDv1 of the canonical bytes, as ``ipfs add --cid-version=1 --raw-leaves`` gives it."""
    from xcr_py.content.cid import bytes_cid

    data = receipt if isinstance(receipt, bytes) else receipt_bytes(receipt)
    return bytes_cid(data)


def parse_receipt(data: bytes | str | Mapping[str, Any], *, canonical: bool = False) -> Receipt:
    """Parse and validate a receipt from JSON bytes/text or a dict.

    Args:
        canonical: also require ``data`` (bytes) to be exactly the canonical encoding, as a
            verifier must before trusting a digest computed over it.

    Raises:
        ReceiptInvalid: malformed JSON, a field that breaks the schema or the arithmetic,
            or non-canonical bytes when ``canonical`` is set.
    """
    if isinstance(data, bytes | str):
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ReceiptInvalid("receipt", f"is not JSON ({exc})") from None
    else:
        doc = dict(data)
    if not isinstance(doc, dict):
        raise ReceiptInvalid("receipt", f"must be a JSON object, got {type(doc).__name__}")
    if doc.get("schema") != "xcr.receipt/1":
        raise ReceiptInvalid("schema", f"must be 'xcr.receipt/1', got {doc.get('schema')!r}")
    try:
        receipt = Receipt.model_validate(doc)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if canonical:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if not isinstance(raw, bytes) or raw != receipt_bytes(receipt):
            raise ReceiptInvalid("receipt", "bytes are not the canonical encoding")
    return receipt


def _invalid(exc: ValidationError, prefix: str = "") -> ReceiptInvalid:
    """Turn pydantic's errors into one ReceiptInvalid naming the first field."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    loc = [str(p) for p in first["loc"] if not str(p).startswith("function-")]
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
        # Cross-field checks say "<field>: problem"; point at that field.
        head, sep, rest = message.partition(": ")
        if sep and _DOTTED.match(head):
            loc, message = [*loc, *head.split(".")], rest
    if first["type"] == "extra_forbidden":
        message = "unknown field (the schema forbids extra fields)"
    field = ".".join(p for p in [prefix, *loc] if p) or "receipt"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ReceiptInvalid(field, message + more)
