"""HTTP intensity adapters: Electricity Maps (API v3) and WattTime (API v3).

Base URL and token are passed in (the configuration edge reads them); nothing here reads the
environment, and a token never appears in an error message.

* Electricity Maps: ``GET {base}/v3/carbon-intensity/latest?zone=Z`` or
  ``/v3/carbon-intensity/past?zone=Z&datetime=ISO`` with header ``auth-token``; the response has
  ``zone``, ``carbonIntensity`` (gCO2eq/kWh), ``datetime``, ``emissionFactorType``
  (``lifecycle``/``direct``) and ``isEstimated``.
* WattTime: ``GET {base}/v3/forecast?region=R&signal_type=co2_moer`` (first point = now) or
  ``/v3/historical?region=R&start=&end=&signal_type=co2_moer`` with ``Authorization: Bearer``;
  the response is ``{"data": [{"point_time", "value"}], "meta": {"units", "region",
  "signal_type"}}``. ``co2_moer`` is a *marginal* rate (what the SCI specification asks for);
  units ``lbs_co2_per_mwh`` are converted exactly (1 lb = 453.59237 g).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from xcr_py.errors import FootprintError, InputError
from xcr_py.footprint.factor import Factor

__all__ = ["ElectricityMapsIntensity", "WattTimeIntensity", "watttime_login"]

UNIT = "gCO2e/kWh"
LB_G = Decimal("453.59237")
WATTTIME_UNITS_G_PER_KWH = {
    "lbs_co2_per_mwh": LB_G / 1000,
    "kg_co2_per_mwh": Decimal(1),
    "g_co2_per_kwh": Decimal(1),
}


def _get_json(url: str, headers: dict[str, str], timeout_s: float, what: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        exc.close()  # the error carries the open response
        hint = " (token rejected)" if exc.code in (401, 403) else ""
        raise FootprintError(f"{what}: HTTP {exc.code}{hint}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise FootprintError(f"{what}: cannot reach the service: {exc}") from exc
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise FootprintError(f"{what}: response is not JSON") from exc


def _iso_z(when: datetime) -> str:
    if when.tzinfo is None:
        raise InputError("when", "must be timezone-aware (UTC)")
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ElectricityMapsIntensity:
    """Electricity Maps carbon intensity (location-based; lifecycle factors by default)."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 10.0,
                 emission_factor_type: str = "lifecycle") -> None:
        if not base_url:
            raise InputError("electricitymaps.base_url", "must not be empty")
        if not token:
            raise InputError("electricitymaps.token", "must not be empty")
        if emission_factor_type not in ("lifecycle", "direct"):
            raise InputError("electricitymaps.emission_factor_type",
                             "must be 'lifecycle' or 'direct'")
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s
        self._eft = emission_factor_type

    def intensity(self, zone: str | None = None, when: datetime | None = None) -> Factor:
        """Latest value (``when=None``) or the past value for ``when``."""
        if not zone:
            raise InputError("zone", "is required for Electricity Maps")
        params = {"zone": zone, "emissionFactorType": self._eft}
        if when is None:
            path = "latest"
        else:
            path, params["datetime"] = "past", _iso_z(when)
        url = f"{self._base}/v3/carbon-intensity/{path}?{urllib.parse.urlencode(params)}"
        data = _get_json(url, {"auth-token": self._token}, self._timeout_s,
                         f"Electricity Maps {zone}")
        if not isinstance(data, dict) or "carbonIntensity" not in data:
            raise FootprintError(f"Electricity Maps {zone}: response has no carbonIntensity")
        value = data["carbonIntensity"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise FootprintError(f"Electricity Maps {zone}: carbonIntensity {value!r} is not "
                                 "a number >= 0")
        estimated = bool(data.get("isEstimated"))
        eft = data.get("emissionFactorType", self._eft)
        source = (f"Electricity Maps API v3, zone {data.get('zone', zone)}, "
                  f"{data.get('datetime', '?')}, {eft}")
        how = data.get("estimationMethod")
        note = f"estimated by Electricity Maps ({how})" if estimated else ""
        return Factor(value, UNIT, source, "estimated" if estimated else "dataset", note=note)


def watttime_login(base_url: str, username: str, password: str, *,
                   timeout_s: float = 10.0) -> str:
    """``GET {base}/login`` with HTTP basic auth; returns the bearer token."""
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    data = _get_json(f"{base_url.rstrip('/')}/login", {"Authorization": f"Basic {basic}"},
                     timeout_s, "WattTime login")
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise FootprintError("WattTime login: response has no token")
    return token


class WattTimeIntensity:
    """WattTime marginal operating emissions rate (``co2_moer``) for a region."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 10.0,
                 signal_type: str = "co2_moer") -> None:
        if not base_url:
            raise InputError("watttime.base_url", "must not be empty")
        if not token:
            raise InputError("watttime.token", "must not be empty")
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s
        self._signal = signal_type

    def intensity(self, zone: str | None = None, when: datetime | None = None) -> Factor:
        """Current value (first forecast point) or the historical point at/before ``when``."""
        if not zone:
            raise InputError("zone", "is required for WattTime (a region such as CAISO_NORTH)")
        params: dict[str, str] = {"region": zone, "signal_type": self._signal}
        if when is None:
            path = "forecast"
            params["horizon_hours"] = "0"
        else:
            path = "historical"
            params["start"] = _iso_z(when - timedelta(minutes=5))
            params["end"] = _iso_z(when + timedelta(minutes=5))
        url = f"{self._base}/v3/{path}?{urllib.parse.urlencode(params)}"
        data = _get_json(url, {"Authorization": f"Bearer {self._token}"}, self._timeout_s,
                         f"WattTime {zone}")
        points = data.get("data") if isinstance(data, dict) else None
        meta = data.get("meta", {}) if isinstance(data, dict) else {}
        if not isinstance(points, list) or not points:
            raise FootprintError(f"WattTime {zone}: response has no data points")
        point = points[0] if when is None else _at_or_before(points, when, zone)
        units = meta.get("units")
        if units not in WATTTIME_UNITS_G_PER_KWH:
            raise FootprintError(f"WattTime {zone}: unknown units {units!r}")
        raw = point.get("value")
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
            raise FootprintError(f"WattTime {zone}: value {raw!r} is not a number >= 0")
        grams = Decimal(repr(float(raw))) * WATTTIME_UNITS_G_PER_KWH[units]
        source = (f"WattTime API v3 {meta.get('signal_type', self._signal)} (marginal), region "
                  f"{meta.get('region', zone)}, {point.get('point_time')}")
        return Factor(grams, UNIT, source, "dataset",
                      note=f"converted from {raw} {units}")


def _at_or_before(points: list[Any], when: datetime, zone: str) -> dict[str, Any]:
    best: tuple[datetime, dict[str, Any]] | None = None
    for p in points:
        t = datetime.fromisoformat(str(p.get("point_time")).replace("Z", "+00:00"))
        if t <= when and (best is None or t > best[0]):
            best = (t, p)
    if best is None:
        raise FootprintError(f"WattTime {zone}: no data point at or before {when.isoformat()}")
    return best[1]
