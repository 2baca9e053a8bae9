"""Hourly grid carbon intensity series: the embedded 2024 data and CSVs in the same format.

The embedded series are the LCA column of Electricity Maps' 2024 hourly data for 16 zones
(ODbL 1.0, attribution "Electricity Maps"), stored as uint32 mg CO2e/kWh per UTC hour.
"""

from __future__ import annotations

import csv
import json
import sys
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

from xcr_py.errors import FootprintError, InputError

__all__ = ["ZONE_ALIASES", "HourlySeries", "canonical_zone", "embedded_index", "embedded_zones",
           "load_csv_dir", "load_zone", "parse_hourly_csv"]

ZONE_ALIASES: dict[str, str] = {"DE-LU": "DE", "BR-SP": "BR-CS", "CL-SIC": "CL-SEN"}
"""Names used by the source files (bidding zones, older ids) for the embedded zone ids."""


def canonical_zone(zone: str) -> str:
    """The embedded zone id for ``zone`` (aliases resolved, case-insensitive)."""
    upper = zone.strip().upper()
    return ZONE_ALIASES.get(upper, upper)

LCA_COLUMN_PREFIX = "Carbon Intensity gCO"
LCA_COLUMN_SUFFIX = "(LCA)"


@dataclass(frozen=True)
class HourlySeries:
    """Hourly intensity for one zone, starting at ``start`` (UTC), one value per hour."""

    zone: str
    name: str
    start: datetime
    values_mg_per_kwh: tuple[int, ...]
    source: str
    estimated_hours: int = 0

    def at(self, when: datetime) -> int:
        """Intensity in mg CO2e/kWh for the UTC hour containing ``when``."""
        if when.tzinfo is None:
            raise InputError("when", "must be timezone-aware (UTC)")
        index = int((when - self.start) // timedelta(hours=1))
        if not 0 <= index < len(self.values_mg_per_kwh):
            end = self.start + timedelta(hours=len(self.values_mg_per_kwh))
            raise InputError(
                "when", f"{when.isoformat()} is outside {self.zone}'s data "
                f"[{self.start.isoformat()}, {end.isoformat()})")
        return self.values_mg_per_kwh[index]

    def to_bytes(self) -> bytes:
        """Little-endian uint32 encoding used for the embedded package data."""
        packed = array("I", self.values_mg_per_kwh)
        if packed.itemsize != 4:
            raise FootprintError("platform has no 4-byte unsigned int array type")
        if _big_endian():
            packed.byteswap()
        return packed.tobytes()


def _big_endian() -> bool:
    return sys.byteorder == "big"


def parse_hourly_csv(path: Path) -> HourlySeries:
    """Parse an Electricity Maps hourly CSV (the format of ``shared/data/grid-intensity-2024``)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        lca = [f for f in fields
               if f.startswith(LCA_COLUMN_PREFIX) and f.endswith(LCA_COLUMN_SUFFIX)]
        if not lca or "Datetime (UTC)" not in fields or "Zone Id" not in fields:
            raise InputError(str(path), "needs columns 'Datetime (UTC)', 'Zone Id' and "
                             "'Carbon Intensity gCO2eq/kWh (LCA)'")
        values: list[int] = []
        start: datetime | None = None
        zone = name = ""
        estimated = 0
        previous: datetime | None = None
        for line_no, row in enumerate(reader, start=2):
            when = datetime.fromisoformat(row["Datetime (UTC)"]).replace(tzinfo=UTC)
            if previous is not None and when - previous != timedelta(hours=1):
                raise InputError(f"{path}:{line_no}", "rows must be consecutive UTC hours")
            previous = when
            if start is None:
                start, zone, name = when, row["Zone Id"], row.get("Zone Name", "")
            try:
                grams = float(row[lca[0]])
            except ValueError as exc:
                raise InputError(f"{path}:{line_no}", f"intensity is not a number: {exc}") from exc
            if not grams >= 0:
                raise InputError(f"{path}:{line_no}", "intensity must be >= 0")
            values.append(round(grams * 1000))
            estimated += row.get("Data Estimated", "").strip().lower() == "true"
    if start is None:
        raise InputError(str(path), "has no data rows")
    return HourlySeries(zone, name, start, tuple(values), f"file {path.name}", estimated)


@lru_cache(maxsize=1)
def embedded_index() -> dict[str, object]:
    """The embedded dataset's index: zones, units, source and licence."""
    text = resources.files("xcr_py.data.grid_hourly").joinpath("index.json").read_text()
    return json.loads(text)


def embedded_zones() -> tuple[str, ...]:
    """Zone ids with an embedded hourly series."""
    zones = embedded_index()["zones"]
    assert isinstance(zones, dict)
    return tuple(sorted(zones))


def load_zone(zone: str) -> HourlySeries:
    """Load the embedded 2024 hourly series for ``zone`` (e.g. ``"DE"``; aliases like
    ``"DE-LU"`` and lower case are accepted)."""
    return _load_zone(canonical_zone(zone))


@lru_cache(maxsize=32)
def _load_zone(zone: str) -> HourlySeries:
    index = embedded_index()
    zones = index["zones"]
    assert isinstance(zones, dict)
    if zone not in zones:
        raise InputError("zone", f"no embedded hourly data for {zone!r}; known: "
                         f"{', '.join(sorted(zones))}")
    raw = resources.files("xcr_py.data.grid_hourly").joinpath(f"{zone}.bin").read_bytes()
    values = array("I")
    values.frombytes(raw)
    if _big_endian():
        values.byteswap()
    meta = zones[zone]
    return HourlySeries(
        zone=zone,
        name=str(meta["name"]),
        start=datetime.fromisoformat(str(meta["start"])),
        values_mg_per_kwh=tuple(values),
        source=f"{index['source']} ({index['licence']})",
        estimated_hours=int(meta["estimated_hours"]),
    )


def load_csv_dir(directory: Path) -> dict[str, HourlySeries]:
    """Load every ``*_hourly.csv`` in ``directory``, keyed by zone id."""
    series = [parse_hourly_csv(p) for p in sorted(Path(directory).glob("*_hourly.csv"))]
    if not series:
        raise InputError("data", f"no *_hourly.csv files in {directory}")
    return {s.zone: s for s in series}
