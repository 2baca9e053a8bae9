"""Small instance builders shared by the schedule tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from xcr_py.schedule import ErrorModel, Forecast, Job

T0 = datetime(2024, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
KWH_MJ = 3_600_000_000


def forecast(
    region: str, values: Sequence[int], sigma: float = 0.0, start: datetime = T0
) -> Forecast:
    """A forecast with a stated error sigma (0: perfect foresight)."""
    error = ErrorModel.none() if sigma == 0 else ErrorModel("day-ahead", sigma, f"sigma {sigma}")
    return Forecast(region, start, tuple(values), error, "test values")


def job(
    name: str,
    energy_kwh: float,
    duration: int,
    first: int,
    last_end: int,
    regions: Sequence[str] = ("A",),
    gpus: int = 1,
) -> Job:
    """A job released at hour ``first`` that must end by hour ``last_end`` (hours from T0)."""
    return Job(
        name,
        round(energy_kwh * KWH_MJ),
        duration,
        T0 + first * HOUR,
        T0 + last_end * HOUR,
        tuple(regions),
        gpus=gpus,
    )


def slot(when: datetime) -> int:
    """Hours from T0."""
    return int((when - T0) // HOUR)
