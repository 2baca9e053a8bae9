"""Replay a year of hourly intensity with realistic forecast error and count realised savings.

For each day of the series (from its third, so that persistence has a full day of history) a
batch of deferrable jobs (the :class:`JobMix`) is planned at 00:00 UTC in the zone alone, four
ways: run now, perfect foresight (the actual values, zero error: the bound), persistence (same
hour yesterday, sigma from the trailing 28 days) and day-ahead noise (actual + N(0, sigma),
sigma a stated percentage of the trailing 28-day mean). Every plan is then charged the
*actual* intensity of the hours it chose. Capacity is unlimited, so jobs are independent and
the perfect-foresight plan is the exact lower bound.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from xcr_py.errors import InputError
from xcr_py.footprint.hourly import HourlySeries
from xcr_py.schedule.forecast import Forecast
from xcr_py.schedule.model import Job, Plan, window_emissions_mg
from xcr_py.schedule.planner import DEFAULT_Z, plan
from xcr_py.units import MJ_PER_KWH

__all__ = ["MODES", "BacktestResult", "JobMix", "backtest_series"]

HOUR = timedelta(hours=1)
MODES = ("run_now", "perfect", "persistence", "day_ahead")
TRAILING_H = 28 * 24


@dataclass(frozen=True)
class JobMix:
    """The daily batch of deferrable renders used by the backtest.

    ``jobs_per_day`` jobs, job ``h`` released at hour ``h`` of the day (mod 24), lasting
    ``durations[h % len(durations)]`` hours with ``slacks[h % len(slacks)]`` hours of slack
    before its deadline, drawing ``gpu_power_w`` on one GPU. Slack 0 jobs are urgent.
    """

    jobs_per_day: int = 24
    durations: tuple[int, ...] = (1, 2, 4)
    slacks: tuple[int, ...] = (0, 4, 8, 12, 24)
    gpu_power_w: int = 700

    def __post_init__(self) -> None:
        if not 1 <= self.jobs_per_day <= 1000:
            raise InputError("mix.jobs_per_day", f"must be in [1, 1000], got {self.jobs_per_day}")
        if not self.durations or min(self.durations) < 1 or max(self.durations) > 48:
            raise InputError("mix.durations", "must be hours in [1, 48]")
        if not self.slacks or min(self.slacks) < 0 or max(self.slacks) > 72:
            raise InputError("mix.slacks", "must be hours in [0, 72]")
        if not 1 <= self.gpu_power_w <= 10_000:
            raise InputError("mix.gpu_power_w", f"must be in [1, 10000] W, got {self.gpu_power_w}")

    @property
    def horizon_h(self) -> int:
        """Hours one day's batch can reach into: release + duration + slack."""
        return 24 + max(self.durations) + max(self.slacks)

    def describe(self) -> str:
        """One line for reports."""
        return (
            f"{self.jobs_per_day} jobs/day, one released per hour, durations "
            f"{'/'.join(map(str, self.durations))} h, slack {'/'.join(map(str, self.slacks))} h "
            f"(cycled), 1 GPU at {self.gpu_power_w} W, planned daily at 00:00 UTC, "
            "unlimited capacity"
        )


@dataclass
class BacktestResult:
    """Realised emissions of each mode over the replay, in mg CO2e, for one zone."""

    zone: str
    name: str
    source: str
    days: int
    jobs: int
    energy_mj: int
    emissions_mg: dict[str, int] = field(default_factory=dict)
    moved: dict[str, int] = field(default_factory=dict)
    sigma_mg_per_kwh: dict[str, float] = field(default_factory=dict)

    def saving_mg(self, mode: str) -> int:
        """Realised saving of ``mode`` versus run-now (negative: it made things worse)."""
        return self.emissions_mg["run_now"] - self.emissions_mg[mode]

    def saving_percent(self, mode: str) -> float:
        """Realised saving as a percentage of run-now emissions."""
        base = self.emissions_mg["run_now"]
        return 100.0 * self.saving_mg(mode) / base if base else 0.0


def _day_jobs(day_start: datetime, zone: str, day: int, mix: JobMix) -> list[Job]:
    jobs = []
    for k in range(mix.jobs_per_day):
        hour = k % 24
        duration = mix.durations[k % len(mix.durations)]
        slack = mix.slacks[k % len(mix.slacks)]
        earliest = day_start + hour * HOUR
        energy = mix.gpu_power_w * duration * 3600 * 1000  # W x h -> mJ
        jobs.append(
            Job(
                f"{zone}-d{day}-{k}",
                energy,
                duration,
                earliest,
                earliest + (duration + slack) * HOUR,
                (zone,),
            )
        )
    return jobs


def _realised(
    result: Plan,
    actual: np.ndarray,
    t0: int,
    series: HourlySeries,
    jobs: dict[str, Job],
    *,
    run_now: bool,
) -> tuple[int, int]:
    total = moved = 0
    for a in result.assignments:
        start = a.run_now_start if run_now else a.start
        offset = int((start - series.start) // HOUR) - t0  # type: ignore[operator]
        hours = tuple(int(v) for v in actual[offset : offset + a.duration_h])
        total += window_emissions_mg(jobs[a.job_id].energy_mj, hours, 1000)
        moved += a.moved
    return total, moved


def backtest_series(
    series: HourlySeries,
    *,
    days: int | None = None,
    sigma_pct: float = 10.0,
    seed: int = 0,
    mix: JobMix | None = None,
    z: float = DEFAULT_Z,
) -> BacktestResult:
    """Backtest one zone's hourly series; see the module docstring for the method.

    Args:
        series: hourly actual intensity (mg CO2e/kWh).
        days: replay at most this many days (default: all that fit).
        sigma_pct: day-ahead noise sigma as a percentage of the trailing 28-day mean.
        seed: seed of the day-ahead noise (mixed with the zone name).
        mix: the daily job batch.
        z: the planner's move threshold in sigmas.
    """
    mix = mix or JobMix()
    if not 0 <= sigma_pct <= 1000:
        raise InputError("sigma_pct", f"must be in [0, 1000] %, got {sigma_pct}")
    values = np.asarray(series.values_mg_per_kwh, dtype=np.int64)
    available = (len(values) - mix.horizon_h) // 24 - 1
    if available < 1:
        raise InputError("data", f"{series.zone} needs at least {48 + mix.horizon_h} hours")
    if days is not None and days < 1:
        raise InputError("days", f"must be >= 1, got {days}")
    count = available if days is None else min(days, available)
    rng = np.random.default_rng([seed, zlib.crc32(series.zone.encode())])
    result = BacktestResult(
        series.zone,
        series.name,
        series.source,
        count,
        0,
        0,
        dict.fromkeys(MODES, 0),
        dict.fromkeys(MODES, 0),
        {"persistence": 0.0, "day_ahead": 0.0},
    )
    for day in range(2, 2 + count):
        t0 = day * 24
        start = series.start + t0 * HOUR
        actual = values[t0 : t0 + mix.horizon_h]
        history = values[max(0, t0 - TRAILING_H - 24) : t0]
        jobs = _day_jobs(start, series.zone, day, mix)
        by_id = {j.id: j for j in jobs}
        sigma = sigma_pct / 100 * float(values[max(0, t0 - TRAILING_H) : t0].mean())
        forecasts = {
            "perfect": Forecast.perfect(series.zone, actual, start, series.source),
            "persistence": Forecast.persistence(
                series.zone, history, start, mix.horizon_h, series.source
            ),
            "day_ahead": Forecast.day_ahead_noise(
                series.zone, actual, start, sigma, rng, series.source
            ),
        }
        for mode, forecast in forecasts.items():
            planned = plan(jobs, None, [forecast], now=start, z=z)
            if planned.infeasible:
                raise InputError(
                    "mix",
                    f"job {planned.infeasible[0].job_id} is infeasible: "
                    f"{planned.infeasible[0].reason}",
                )
            mg, moved = _realised(planned, actual, t0, series, by_id, run_now=False)
            result.emissions_mg[mode] += mg
            result.moved[mode] += moved
            if mode == "perfect":
                base, _ = _realised(planned, actual, t0, series, by_id, run_now=True)
                result.emissions_mg["run_now"] += base
            if mode != "perfect":
                result.sigma_mg_per_kwh[mode] += forecast.error.sigma_mg_per_kwh / count
        result.jobs += len(jobs)
        result.energy_mj += sum(j.energy_mj for j in jobs)
    return result


def energy_kwh(result: BacktestResult) -> float:
    """Total energy of the replayed jobs in kWh."""
    return result.energy_mj / MJ_PER_KWH
