"""Pack the hourly grid-intensity CSVs (Electricity Maps, ODbL) into compact package data.

Usage: python scripts/embed_grid_data.py [SOURCE_DIR]  (default: ../shared/data/grid-intensity-2024)

Writes, for each zone, ``xcr_py/data/grid_hourly/<ZONE>.bin``: little-endian uint32 LCA
intensity in mg CO2e/kWh, one per hour from the first timestamp; and ``index.json`` with the
zones, start hour, hour count, column used, and the attribution the licence requires.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from xcr_py.footprint.hourly import parse_hourly_csv

OUT_DIR = Path(__file__).resolve().parents[1] / "xcr_py" / "data" / "grid_hourly"


def main(source: Path) -> None:
    """Convert every ``*_hourly.csv`` in ``source``."""
    zones: dict[str, dict[str, object]] = {}
    for csv_path in sorted(source.glob("*_hourly.csv")):
        series = parse_hourly_csv(csv_path)
        (OUT_DIR / f"{series.zone}.bin").write_bytes(series.to_bytes())
        zones[series.zone] = {
            "name": series.name,
            "start": series.start.isoformat(),
            "hours": len(series.values_mg_per_kwh),
            "mean_mg_per_kwh": round(sum(series.values_mg_per_kwh) / len(series.values_mg_per_kwh)),
            "estimated_hours": series.estimated_hours,
        }
    index = {
        "column": "Carbon Intensity gCO2eq/kWh (LCA)",
        "unit": "mg CO2e/kWh",
        "basis": "location-based, life-cycle (LCA) emission factors",
        "source": "Electricity Maps, hourly historical data 2024",
        "licence": "Open Database License (ODbL 1.0); attribution: Electricity Maps",
        "collected_from": "HewlettPackard/sustain-cluster (MIT), data/carbon_intensity",
        "zones": zones,
    }
    (OUT_DIR / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "grid-intensity-2024"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
