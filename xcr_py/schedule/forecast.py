"""Intensity forecasts per region, each with the error model the planner must respect.

A forecast is a point value per UTC hour (mg CO2e/kWh) plus an error model: the standard
deviation of the forecast error per hour. Named constructors build the forecasts used by the
backtest from an hourly series: perfect foresight (zero error), persistence (the same hour
yesterday, sigma estimated from the series) and day-ahead noise (actual + Gaussian noise with a
stated sigma).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from xcr_py.errors import InputError

__all__ = ["ErrorModel", "Forecast", "persistence_sigma_mg_per_kwh"]

HOUR = timedelta(hours=1)
PERSISTENCE_LOOKBACK_H = 28 * 24
"""Trailing window over which the persistence error sigma is estimated (28 days)."""


@dataclass(frozen=True)
class ErrorModel:
    """Forecast error model: zero-mean error with standard deviation ``sigma_mg_per_kwh`` per hour.

    ``kind`` is ``"none"`` (perfect foresight), ``"persistence"`` or ``"day-ahead"``;
    ``description`` states how sigma was obtained, for the plan's output.
    """

    kind: str
    sigma_mg_per_kwh: float
    description: str

    def __post_init__(self) -> None:
        if self.kind not in ("none", "persistence", "day-ahead"):
            raise InputError("error_model.kind", "must be none, persistence or day-ahead")
        if not (math.isfinite(self.sigma_mg_per_kwh) and self.sigma_mg_per_kwh >= 0):
            raise InputError(
                "error_model.sigma_mg_per_kwh",
                f"must be finite and >= 0, got {self.sigma_mg_per_kwh!r}",
            )

    @classmethod
    def none(cls) -> ErrorModel:
        """Zero error: the forecast is the realised intensity (perfect-foresight bound)."""
        return cls("none", 0.0, "perfect foresight (zero forecast error)")


def persistence_sigma_mg_per_kwh(values: np.ndarray) -> float:
    """RMS of ``I[t] - I[t-24h]`` over ``values``: the error of a same-hour-yesterday forecast."""
    if len(values) <= 24:
        raise InputError("history", f"needs more than 24 hourly values, got {len(values)}")
    diff = values[24:].astype(np.float64) - values[:-24]
    return float(np.sqrt(np.mean(diff * diff)))


@dataclass(frozen=True)
class Forecast:
    """Point forecast for one region: a value per UTC hour from ``start``, with its error model."""

    region: str
    start: datetime
    values_mg_per_kwh: tuple[int, ...]
    error: ErrorModel
    source: str

    def __post_init__(self) -> None:
        field = f"forecasts[{self.region!r}]"
        if self.start.utcoffset() is None:
            raise InputError(f"{field}.start", "must be timezone-aware (UTC)")
        if self.start.minute or self.start.second or self.start.microsecond:
            raise InputError(f"{field}.start", "must be on an hour boundary")
        if not self.values_mg_per_kwh:
            raise InputError(f"{field}.values_mg_per_kwh", "must hold at least one hour")
        if min(self.values_mg_per_kwh) < 0:
            raise InputError(f"{field}.values_mg_per_kwh", "must be >= 0")

    @property
    def end(self) -> datetime:
        """End of the last forecast hour."""
        return self.start + len(self.values_mg_per_kwh) * HOUR

    @classmethod
    def perfect(cls, region: str, actual: np.ndarray, start: datetime, source: str) -> Forecast:
        """The realised values themselves, zero error (the perfect-foresight bound)."""
        return cls(region, start, tuple(int(v) for v in actual), ErrorModel.none(), source)

    @classmethod
    def persistence(
        cls, region: str, history: np.ndarray, start: datetime, hours: int, source: str
    ) -> Forecast:
        """Repeat the last observed 24 hours (``history`` ends just before ``start``).

        Sigma is the RMS same-hour-yesterday error over the trailing 28 days of ``history``.
        """
        if len(history) < 48:
            raise InputError("history", f"persistence needs >= 48 hours, got {len(history)}")
        last_day = history[-24:]
        values = tuple(int(last_day[k % 24]) for k in range(hours))
        sigma = persistence_sigma_mg_per_kwh(history[-(PERSISTENCE_LOOKBACK_H + 24) :])
        error = ErrorModel(
            "persistence",
            sigma,
            "persistence: same hour yesterday; sigma = RMS "
            f"error over the trailing 28 days = {sigma / 1000:.1f} g/kWh",
        )
        return cls(region, start, values, error, f"persistence of {source}")

    @classmethod
    def day_ahead_noise(
        cls,
        region: str,
        actual: np.ndarray,
        start: datetime,
        sigma_mg_per_kwh: float,
        rng: np.random.Generator,
        source: str,
    ) -> Forecast:
        """Realised values plus independent N(0, ``sigma_mg_per_kwh``) noise, floored at 0."""
        noisy = actual.astype(np.float64) + rng.normal(0.0, sigma_mg_per_kwh, len(actual))
        values = tuple(int(v) for v in np.maximum(np.rint(noisy), 0))
        error = ErrorModel(
            "day-ahead",
            sigma_mg_per_kwh,
            f"day-ahead noise: actual + N(0, sigma), sigma = {sigma_mg_per_kwh / 1000:.1f} g/kWh",
        )
        return cls(region, start, values, error, f"day-ahead noise on {source}")
