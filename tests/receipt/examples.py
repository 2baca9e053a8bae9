"""Example receipt parts shared by the receipt tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from xcr_py.content.cid import bytes_cid
from xcr_py.receipt import Receipt, build_receipt

ASSET_BYTES = b"\x89PNG example asset bytes"
ORACLES = ("0x1111111111111111111111111111111111111111",
           "0x2222222222222222222222222222222222222222")


def parts(**changes: Any) -> dict[str, Any]:
    """Keyword arguments for ``build_receipt``; ``changes`` replaces whole parts."""
    base: dict[str, Any] = {
        "asset": {"cid": str(bytes_cid(ASSET_BYTES)),
                  "sha256": hashlib.sha256(ASSET_BYTES).hexdigest(),
                  "media_type": "image/png", "bytes": len(ASSET_BYTES),
                  "model": "xcr-procedural/1", "campaign": "spring",
                  "creator": "0x00000000000000000000000000000000000000aa"},
        "energy": {"gpu_j": 812.25, "cpu_j": 95.5, "window_s": 3.2, "method": "estimated",
                   "sources": ["estimate:declared-tdp"],
                   "uncertainty": {"low": 700.0, "high": 1100.0}},
        "factors": {
            "intensity": {"value": 381.4, "unit": "gCO2e/kWh",
                          "source": "Electricity Maps 2024 hourly LCA, DE", "method": "dataset",
                          "interval": {"low": 340.0, "high": 420.0}},
            "pue": {"value": 1.2, "unit": "1", "source": "declared by operator",
                    "method": "declared", "interval": {"low": 1.1, "high": 1.4}},
            "embodied": {"value": 0.0135, "unit": "gCO2e", "source": "Boavizta GPU estimate",
                         "method": "estimated", "interval": {"low": 0.01, "high": 0.02}},
        },
        "ratio_bps": 15_000,
        "credit": {"chain_id": 1337, "contract": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                   "batch_id": 1, "project": "DEMO-DAC-001", "method": "DAC",
                   "permanence_years": 1000},
        "oracle": {"addresses": list(ORACLES), "threshold": 2},
        "created": datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC),
        "schedule": {"hour": "2026-12-03T12:00:00Z", "zone": "DE",
                     "intensity_mg_per_kwh": 381_400},
        "batch": {"leaf_index": 7},
    }
    base.update(changes)
    return base


def example_receipt(**changes: Any) -> Receipt:
    """A valid receipt built from :func:`parts`."""
    return build_receipt(**parts(**changes))
