"""A small hand-built campaign whose figures are easy to check by hand.

Factors: 360 gCO2e/kWh, PUE 1, no embodied, so gross = 0.1 mg per J (ceil to the mg).

=========  ==========  =====================  ==============================
asset      model       params                 energy (J) -> gross (mg)
=========  ==========  =====================  ==============================
a1..a3     sdxl        1024x1024, 30 steps    1000, 1200, 800 -> 100, 120, 80
t1, t2     sdxl-turbo  1024x1024, 4 steps     200, 300 -> 20, 30
s1         sdxl        512x512, 30 steps      400 -> 40
c1         acme-cloud  1024x1024              10465.2 (estimated, cloud) -> 1047
=========  ==========  =====================  ==============================
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from xcr_py.content.cid import bytes_cid
from xcr_py.receipt import Receipt, build_receipt

ORACLES = ("0x1111111111111111111111111111111111111111",)
HI = {"width": 1024, "height": 1024}
ROWS: list[tuple[str, str, float, dict[str, Any], bool]] = [
    ("a1", "sdxl", 1000.0, {**HI, "steps": 30}, False),
    ("a2", "sdxl", 1200.0, {**HI, "steps": 30}, False),
    ("a3", "sdxl", 800.0, {**HI, "steps": 30}, False),
    ("t1", "sdxl-turbo", 200.0, {**HI, "steps": 4}, False),
    ("t2", "sdxl-turbo", 300.0, {**HI, "steps": 4}, False),
    ("s1", "sdxl", 400.0, {"width": 512, "height": 512, "steps": 30}, False),
    ("c1", "acme-cloud", 10465.2, dict(HI), True),
]


def asset_bytes(name: str) -> bytes:
    return f"asset {name}".encode()


def receipt(name: str, model: str, energy_j: float, cloud: bool,
            campaign: str = "spring") -> Receipt:
    data = asset_bytes(name)
    sources = ["gpu:cloud:declared-estimate"] if cloud else ["gpu:0:nvml-energy-counter"]
    return build_receipt(
        asset={"cid": str(bytes_cid(data)), "sha256": hashlib.sha256(data).hexdigest(),
               "media_type": "image/png", "bytes": len(data), "model": model,
               "campaign": campaign},
        energy={"gpu_j": energy_j, "cpu_j": 0.0, "window_s": 2.0,
                "method": "estimated" if cloud else "measured", "sources": sources,
                "uncertainty": {"low": energy_j * 0.5, "high": energy_j * 2}},
        factors={
            "intensity": {"value": 360.0, "unit": "gCO2e/kWh", "source": "test",
                          "method": "dataset", "interval": {"low": 300.0, "high": 400.0}},
            "pue": {"value": 1.0, "unit": "1", "source": "test", "method": "declared",
                    "interval": {"low": 1.0, "high": 1.2}},
            "embodied": {"value": 0.0, "unit": "gCO2e", "source": "test",
                         "method": "declared", "interval": {"low": 0.0, "high": 0.0}},
        },
        ratio_bps=10_000,
        credit={"chain_id": 1337, "contract": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "batch_id": 1, "project": "DEMO-DAC-001", "method": "DAC",
                "permanence_years": 1000},
        oracle={"addresses": list(ORACLES), "threshold": 1},
        created=datetime(2026, 12, 3, 12, tzinfo=UTC))


def campaign() -> tuple[list[Receipt], dict[str, dict[str, Any]]]:
    """Receipts and params by asset CID."""
    receipts, params = [], {}
    for name, model, energy, p, cloud in ROWS:
        r = receipt(name, model, energy, cloud)
        receipts.append(r)
        params[r.asset.cid] = p
    return receipts, params
