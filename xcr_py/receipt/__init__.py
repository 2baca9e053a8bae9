"""The receipt document (``xcr.receipt/1``): models, canonical bytes, digest and CID.

The JSON Schema lives in :mod:`xcr_py.receipt.schema` (``receipt.schema.json``).
"""

from __future__ import annotations

from xcr_py.receipt.build import (
    ReceiptInvalid,
    build_receipt,
    parse_receipt,
    receipt_bytes,
    receipt_cid,
    receipt_digest,
    receipt_document,
    validate_part,
)
from xcr_py.receipt.model import (
    SCHEMA_ID,
    Asset,
    BatchInfo,
    CreditIntent,
    Emissions,
    Energy,
    Factor,
    Factors,
    Interval,
    OracleInfo,
    Receipt,
    Removal,
    Schedule,
)

__all__ = [
    "SCHEMA_ID",
    "Asset",
    "BatchInfo",
    "CreditIntent",
    "Emissions",
    "Energy",
    "Factor",
    "Factors",
    "Interval",
    "OracleInfo",
    "Receipt",
    "ReceiptInvalid",
    "Removal",
    "Schedule",
    "build_receipt",
    "parse_receipt",
    "receipt_bytes",
    "receipt_cid",
    "receipt_digest",
    "receipt_document",
    "validate_part",
]
