"""Property tests: deadlines and capacity are always respected; nothing is dropped."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from xcr_py.schedule import plan, window_emissions_mg

from .helpers import HOUR, T0, forecast, job, slot

REGIONS = ("A", "B", "C")


@st.composite
def instances(draw: st.DrawFn) -> tuple[list, dict[str, int] | None, list, int]:
    hours = draw(st.integers(4, 30))
    regions = REGIONS[: draw(st.integers(1, 3))]
    forecasts = []
    for r in regions:
        values = draw(st.lists(st.integers(0, 900_000), min_size=hours, max_size=hours))
        sigma = draw(st.sampled_from([0.0, 10_000.0, 200_000.0]))
        # Some forecasts start late or end early: windows outside them must not be used.
        offset = draw(st.integers(0, 2))
        forecasts.append(forecast(r, values[: hours - offset], sigma, T0 + offset * HOUR))
    jobs = []
    for i in range(draw(st.integers(1, 12))):
        duration = draw(st.integers(1, 4))
        first = draw(st.integers(0, hours))
        end = first + draw(st.integers(0, 10))
        allowed = draw(
            st.lists(st.sampled_from((*regions, "Z")), min_size=1, max_size=3, unique=True)
        )
        jobs.append(
            job(
                f"j{i}",
                draw(st.floats(0.01, 50)),
                duration,
                first,
                max(end, first + 1),
                allowed,
                gpus=draw(st.integers(1, 3)),
            )
        )
    capacity = None
    if draw(st.booleans()):
        capacity = {r: draw(st.integers(0, 4)) for r in regions}
    return jobs, capacity, forecasts, hours


@settings(max_examples=300, deadline=None)
@given(instances(), st.sampled_from([0.0, 1.0, 3.0]))
def test_deadlines_capacity_and_accounting(instance: tuple, z: float) -> None:
    jobs, capacity, forecasts, _ = instance
    result = plan(jobs, capacity, forecasts, now=T0, z=z)
    by_id = {j.id: j for j in jobs}
    fc = {f.region: f for f in forecasts}

    placed = [a.job_id for a in result.assignments]
    failed = [i.job_id for i in result.infeasible]
    assert sorted(placed + failed) == sorted(by_id)  # every job exactly once, none dropped

    use: Counter[tuple[str, int]] = Counter()
    for a in result.assignments:
        j = by_id[a.job_id]
        assert a.region in j.regions
        assert a.start >= j.earliest and a.start >= T0
        assert a.end <= j.deadline  # never past the deadline
        assert a.start.minute == 0 and a.duration_h == j.duration_h and a.gpus == j.gpus
        f = fc[a.region]
        assert f.start <= a.start and a.end <= f.end  # only forecast hours are used
        k = slot(a.start) - slot(f.start)
        assert a.hourly_forecast_mg_per_kwh == f.values_mg_per_kwh[k : k + j.duration_h]
        assert a.expected_emissions_mg == window_emissions_mg(
            j.energy_mj, a.hourly_forecast_mg_per_kwh, 1000
        )
        for h in range(j.duration_h):
            use[(a.region, slot(a.start) + h)] += j.gpus
        if a.run_now_start is not None:
            assert a.run_now_start >= j.earliest
            assert a.run_now_start + j.duration_h * HOUR <= j.deadline
    if capacity is not None:
        for (region, _hour), gpus in use.items():
            assert gpus <= capacity[region]
    for item in result.infeasible:
        assert item.reason
    s = result.saving
    assert s.expected_mg == s.run_now_mg - s.planned_mg
    assert s.low_mg <= s.expected_mg <= s.high_mg


@settings(max_examples=150, deadline=None)
@given(instances())
def test_without_capacity_only_impossible_jobs_are_infeasible(instance: tuple) -> None:
    """Unlimited capacity: a job is infeasible only if no covered window fits its deadline."""
    jobs, _, forecasts, _ = instance
    result = plan(jobs, None, forecasts, now=T0)
    fc = {f.region: f for f in forecasts}
    failed = {i.job_id for i in result.infeasible}
    for j in jobs:
        fits = any(
            fc[r].start <= j.earliest + h * HOUR
            and j.earliest + (h + j.duration_h) * HOUR <= min(j.deadline, fc[r].end)
            for r in j.regions
            if r in fc
            for h in range(0, 40)
        )
        assert (j.id in failed) == (not fits), j
