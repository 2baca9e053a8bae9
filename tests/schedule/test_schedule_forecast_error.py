"""Forecast error: zero error reaches the perfect-foresight bound; large error does no harm
in expectation on real data; the move threshold follows the stated error model."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from xcr_py.footprint.hourly import load_zone
from xcr_py.schedule import Forecast, persistence_sigma_mg_per_kwh, plan, window_emissions_mg
from xcr_py.schedule.backtest import backtest_series

from .helpers import HOUR, T0, forecast, job

WEEK = datetime(2024, 5, 6, tzinfo=UTC)


def _week(zone: str) -> np.ndarray:
    series = load_zone(zone)
    offset = int((WEEK - series.start) // HOUR)
    return np.asarray(series.values_mg_per_kwh[offset : offset + 7 * 24])


def _mixed_jobs(regions: tuple[str, ...]) -> list:
    rng = np.random.default_rng(7)
    jobs = []
    for i in range(60):
        d = int(rng.integers(1, 6))
        first = int(rng.integers(0, 100))
        end = first + d + int(rng.integers(0, 60))
        allowed = tuple(rng.permutation(regions)[: int(rng.integers(1, len(regions) + 1))])
        jobs.append(job(f"j{i}", float(rng.uniform(0.5, 30)), d, first, end, allowed))
    return [
        j.__class__(
            j.id,
            j.energy_mj,
            j.duration_h,
            WEEK + (j.earliest - T0),
            WEEK + (j.deadline - T0),
            j.regions,
        )
        for j in jobs
    ]


def test_zero_error_plan_equals_perfect_foresight_bound() -> None:
    regions = ("DE", "GB", "SG")
    actual = {r: _week(r) for r in regions}
    forecasts = [Forecast.perfect(r, actual[r], WEEK, "embedded 2024") for r in regions]
    jobs = _mixed_jobs(regions)
    result = plan(jobs, None, forecasts, now=WEEK, z=0.0)
    assert not result.infeasible
    # The bound, computed independently: each job's cheapest window in the realised data.
    bound = 0
    for j in jobs:
        first = int((j.earliest - WEEK) // HOUR)
        last = int((j.deadline - WEEK) // HOUR) - j.duration_h
        bound += min(
            window_emissions_mg(
                j.energy_mj, tuple(int(v) for v in actual[r][h : h + j.duration_h]), 1000
            )
            for r in j.regions
            for h in range(first, last + 1)
        )
    realised = sum(
        window_emissions_mg(
            j.energy_mj,
            tuple(
                int(v) for v in actual[a.region][int((a.start - WEEK) // HOUR) :][: j.duration_h]
            ),
            1000,
        )
        for j, a in zip(jobs, result.assignments, strict=True)
    )
    assert realised == result.saving.planned_mg == bound
    assert result.saving.expected_mg > 0
    assert result.saving.low_mg == result.saving.high_mg == result.saving.expected_mg


@pytest.mark.parametrize("zone", ["DE", "US-CAL-CISO"])
def test_backtest_perfect_foresight_is_the_bound(zone: str) -> None:
    r = backtest_series(load_zone(zone), days=10, sigma_pct=20, seed=1)
    assert r.jobs == 240
    for mode in ("run_now", "persistence", "day_ahead"):
        assert r.emissions_mg["perfect"] <= r.emissions_mg[mode]
    assert r.saving_mg("perfect") > 0


@pytest.mark.parametrize("zone", ["DE", "SG", "US-CAL-CISO"])
@pytest.mark.parametrize("sigma_pct", [100, 300])
def test_large_error_not_worse_than_run_now_in_expectation(zone: str, sigma_pct: int) -> None:
    """Mean realised saving over seeds is >= 0 within three standard errors of the mean."""
    savings = np.array(
        [
            backtest_series(
                load_zone(zone), days=10, sigma_pct=sigma_pct, seed=seed
            ).saving_percent("day_ahead")
            for seed in range(8)
        ]
    )
    standard_error = savings.std(ddof=1) / np.sqrt(len(savings))
    assert savings.mean() >= -3 * standard_error
    assert savings.mean() > -0.1  # and in any case within a tenth of a percent of run-now


def test_move_only_when_saving_exceeds_forecast_uncertainty() -> None:
    """Saving 100 g/kWh; sigma_pair = sqrt(2) sigma (hour errors independent between windows)."""
    j = job("x", 1, 1, 0, 2)
    moved = plan([j], None, [forecast("A", [500_000, 400_000], sigma=60_000)], now=T0)
    kept = plan([j], None, [forecast("A", [500_000, 400_000], sigma=80_000)], now=T0)
    assert moved.assignments[0].moved and moved.assignments[0].start == T0 + HOUR
    assert not kept.assignments[0].moved and kept.assignments[0].start == T0
    strict = plan([j], None, [forecast("A", [500_000, 400_000], sigma=60_000)], now=T0, z=2.0)
    assert strict.assignments[0].start == T0
    assert moved.error_model == "A: sigma 60000"
    # The saving interval widens with the error model: 1.96 * sqrt(2) * 60 g on 1 kWh.
    s = moved.saving
    assert s.expected_mg == 100_000
    assert s.low_mg == pytest.approx(100_000 - 1.959964 * 2**0.5 * 60_000, abs=1)
    assert s.high_mg == pytest.approx(100_000 + 1.959964 * 2**0.5 * 60_000, abs=1)


def test_persistence_forecast_repeats_yesterday_with_sigma_from_history() -> None:
    series = load_zone("GB")
    history = np.asarray(series.values_mg_per_kwh[: 40 * 24])
    f = Forecast.persistence("GB", history, series.start + 40 * 24 * HOUR, 50, "embedded")
    assert f.values_mg_per_kwh[:24] == tuple(int(v) for v in history[-24:])
    assert f.values_mg_per_kwh[24:48] == f.values_mg_per_kwh[:24]
    recent = history[-(28 * 24 + 24) :].astype(float)
    expected = float(np.sqrt(np.mean((recent[24:] - recent[:-24]) ** 2)))
    assert f.error.sigma_mg_per_kwh == pytest.approx(expected)
    assert persistence_sigma_mg_per_kwh(recent) == pytest.approx(expected)
    assert f.error.kind == "persistence" and "same hour yesterday" in f.error.description
