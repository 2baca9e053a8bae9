"""Grid carbon intensity providers behind one interface.

Every provider answers ``intensity(zone, when) -> Factor`` in ``gCO2e/kWh``, location-based,
with its source, method and interval. Implementations here: :class:`ConstantIntensity`,
:class:`EmbeddedIntensity` (the package data: hourly for 16 zones in 2024, annual averages),
:class:`FileIntensity` (an Electricity Maps hourly CSV or an annual JSON table). HTTP adapters
for Electricity Maps and WattTime live in :mod:`xcr_py.footprint.http_providers`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from xcr_py.errors import FootprintError, InputError
from xcr_py.footprint.factor import Factor, Number
from xcr_py.footprint.hourly import HourlySeries, canonical_zone, embedded_zones, load_zone
from xcr_py.footprint.hourly import parse_hourly_csv as _parse_hourly_csv

__all__ = [
    "ConstantIntensity",
    "EmbeddedIntensity",
    "FileIntensity",
    "IntensityProvider",
    "annual_zones",
]

UNIT = "gCO2e/kWh"


@runtime_checkable
class IntensityProvider(Protocol):
    """Location-based grid carbon intensity for a zone at a time."""

    def intensity(self, zone: str | None = None, when: datetime | None = None) -> Factor:
        """Intensity in gCO2e/kWh; ``when`` is timezone-aware UTC, ``None`` for "now/typical"."""
        ...


def _mg_to_g(mg: int) -> Decimal:
    return Decimal(mg) / 1000


def _check_when(when: datetime | None) -> None:
    if when is not None and when.tzinfo is None:
        raise InputError("when", "must be timezone-aware (UTC)")


class ConstantIntensity:
    """A declared constant (e.g. a supplier's figure)."""

    def __init__(self, g_per_kwh: Number, source: str = "declared by the operator",
                 interval: tuple[Number, Number] | None = None) -> None:
        self._factor = Factor(g_per_kwh, UNIT, source, "declared",
                              None if interval is None else (Decimal(str(interval[0])),
                                                             Decimal(str(interval[1]))))

    def intensity(self, zone: str | None = None, when: datetime | None = None) -> Factor:
        """The constant, whatever the zone and time."""
        _check_when(when)
        return self._factor


@lru_cache(maxsize=1)
def _annual() -> dict[str, Any]:
    text = resources.files("xcr_py.data").joinpath("grid_annual.json").read_text("utf-8")
    return json.loads(text)


def annual_zones() -> tuple[str, ...]:
    """Zones with an embedded annual average."""
    return tuple(sorted(_annual()["zones"]))


def _hourly_factor(series: HourlySeries, when: datetime, zone: str) -> Factor:
    hour = when.replace(minute=0, second=0, microsecond=0)
    return Factor(_mg_to_g(series.at(when)), UNIT,
                  f"{series.source}, LCA, zone {zone}, hour {hour.isoformat()}", "dataset",
                  note="hourly dataset value; the provider states no uncertainty")


class EmbeddedIntensity:
    """The package data: hourly 2024 values where the hour is covered, else the annual mean.

    The annual mean's interval is the zone's lowest and highest hour of the year, because the
    actual hour's intensity is then unknown.
    """

    def intensity(self, zone: str | None = None, when: datetime | None = None) -> Factor:
        """Hourly value for ``when`` if the embedded series covers it, else the annual mean."""
        if not zone:
            raise InputError("zone", f"is required for embedded data; known: "
                             f"{', '.join(annual_zones())}")
        _check_when(when)
        z = canonical_zone(zone)
        if when is not None and z in embedded_zones():
            series = load_zone(z)
            end = series.start + timedelta(hours=len(series.values_mg_per_kwh))
            if series.start <= when < end:
                return _hourly_factor(series, when, z)
        table = _annual()
        row = table["zones"].get(z)
        if row is None:
            raise InputError("zone", f"no embedded intensity for {zone!r}; known: "
                             f"{', '.join(annual_zones())}")
        why = "no time given" if when is None else f"{when.isoformat()} is outside the hourly data"
        return Factor(_mg_to_g(row["mean_mg_per_kwh"]), UNIT,
                      f"{table['source']}, LCA, zone {z}, annual mean {row['year']}", "dataset",
                      (_mg_to_g(row["min_mg_per_kwh"]), _mg_to_g(row["max_mg_per_kwh"])),
                      note=f"annual mean used ({why}); interval = lowest..highest hour of the year")


class FileIntensity:
    """Intensity from a file: an Electricity Maps hourly CSV, or a JSON table.

    JSON form: ``{"source": "...", "unit": "gCO2e/kWh", "zones": {"DE": 350.0, ...}}``, values
    optionally ``{"value": 350.0, "interval": [300, 400]}``.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._series: HourlySeries | None = None
        self._table: dict[str, Any] | None = None
        if self._path.suffix.lower() == ".csv":
            self._series = _parse_hourly_csv(self._path)
        elif self._path.suffix.lower() == ".json":
            self._table = self._load_json()
        else:
            raise InputError("intensity_file", f"must be .csv or .json, got {self._path.name}")

    def _load_json(self) -> dict[str, Any]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(str(self._path), f"cannot read JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("zones"), dict):
            raise InputError(f"{self._path}.zones", "must be an object of zone -> value")
        if data.get("unit", UNIT) != UNIT:
            raise InputError(f"{self._path}.unit", f"must be {UNIT!r}, got {data.get('unit')!r}")
        if not data.get("source"):
            raise InputError(f"{self._path}.source", "must say where the values come from")
        return data

    def intensity(self, zone: str | None = None, when: datetime | None = None) -> Factor:
        """The file's value for the zone (JSON) or hour (CSV)."""
        _check_when(when)
        if self._series is not None:
            if when is None:
                raise InputError("when", f"is required for the hourly file {self._path.name}")
            if zone and canonical_zone(zone) != canonical_zone(self._series.zone):
                raise InputError("zone", f"{self._path.name} holds zone {self._series.zone}, "
                                 f"not {zone}")
            return _hourly_factor(self._series, when, self._series.zone)
        assert self._table is not None
        zones = self._table["zones"]
        key = zone if zone in zones else (canonical_zone(zone) if zone else None)
        if key not in zones:
            raise InputError("zone", f"{self._path.name} has no zone {zone!r}; known: "
                             f"{', '.join(sorted(zones))}")
        entry = zones[key]
        value, interval = (entry.get("value"), entry.get("interval")) if isinstance(
            entry, dict) else (entry, None)
        if value is None:
            raise FootprintError(f"{self._path.name}: zone {key} has no value")
        return Factor(value, UNIT, f"{self._table['source']} (file {self._path.name}, zone {key})",
                      "dataset", None if interval is None else
                      (Decimal(str(interval[0])), Decimal(str(interval[1]))))
