"""Forecasts built from hourly series (embedded data or ``--data`` CSVs) for a planning time."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta

import numpy as np

from xcr_py.errors import InputError
from xcr_py.footprint.hourly import HourlySeries
from xcr_py.schedule.forecast import Forecast

__all__ = ["FORECAST_KINDS", "forecasts_from_series"]

HOUR = timedelta(hours=1)
FORECAST_KINDS = ("persistence", "day-ahead", "perfect")
TRAILING_H = 28 * 24


def forecasts_from_series(
    series: Mapping[str, HourlySeries],
    now: datetime,
    until: datetime,
    kind: str = "persistence",
    *,
    sigma_pct: float = 10.0,
    seed: int = 0,
) -> list[Forecast]:
    """One forecast per region covering ``[now's hour, until)``, clipped to each series.

    ``persistence`` uses only the history before ``now``; ``perfect`` and ``day-ahead`` replay
    the series' actual values (zero error, or Gaussian noise of ``sigma_pct`` % of the trailing
    28-day mean) and so only make sense on past data.
    """
    if kind not in FORECAST_KINDS:
        raise InputError("forecast", f"must be one of {', '.join(FORECAST_KINDS)}, got {kind!r}")
    if not 0 <= sigma_pct <= 1000:
        raise InputError("sigma_pct", f"must be in [0, 1000] %, got {sigma_pct}")
    forecasts = []
    for region, s in sorted(series.items()):
        values = np.asarray(s.values_mg_per_kwh, dtype=np.int64)
        t0 = int((now - s.start) // HOUR)
        end = min(int(-((s.start - until) // HOUR)), len(values))
        if not 0 <= t0 < len(values):
            raise InputError(
                "now",
                f"{now.isoformat()} is outside {region}'s data "
                f"(from {s.start.isoformat()}, {len(values)} hours)",
            )
        start = s.start + t0 * HOUR
        hours = max(end - t0, 1)
        actual = values[t0 : t0 + hours]
        if kind == "persistence":
            if t0 < 48:
                raise InputError("now", f"persistence needs 48 h of {region} history before now")
            history = values[max(0, t0 - TRAILING_H - 24) : t0]
            forecasts.append(Forecast.persistence(region, history, start, hours, s.source))
        elif kind == "perfect":
            forecasts.append(Forecast.perfect(region, actual, start, s.source))
        else:
            sigma = sigma_pct / 100 * float(values[max(0, t0 - TRAILING_H) : max(t0, 1)].mean())
            rng = np.random.default_rng([seed, zlib.crc32(region.encode())])
            forecasts.append(Forecast.day_ahead_noise(region, actual, start, sigma, rng, s.source))
    return forecasts
