"""method="exact": min-cost assignment of single-hour, single-GPU jobs equals brute force."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcr_py.errors import InputError
from xcr_py.schedule import plan

from .helpers import T0, forecast, job, slot

intensity = st.integers(0, 800_000)


def brute_force(jobs, forecasts, capacity, pue):  # type: ignore[no-untyped-def]
    """(most jobs placed, least total mg) over every joint choice, 'unplaced' included."""
    fc = {f.region: f for f in forecasts}
    options = []
    for j in jobs:
        windows = [None] + [
            (f.region, h)
            for f in forecasts
            if f.region in j.regions
            for h in range(slot(j.earliest), slot(j.deadline))
            if 0 <= h < len(f.values_mg_per_kwh)
        ]
        options.append(windows)
    best = None
    for combo in itertools.product(*options):
        use = Counter(c for c in combo if c is not None)
        if any(n > capacity[r] for (r, _), n in use.items()):
            continue
        total = sum(
            j.energy_mj * pue.get(r, 1000) * fc[r].values_mg_per_kwh[h] // (1000 * 3_600_000_000)
            for j, c in zip(jobs, combo, strict=True)
            if c is not None
            for r, h in [c]
        )
        key = (-sum(c is not None for c in combo), total)
        best = key if best is None else min(best, key)
    return -best[0], best[1]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_exact_equals_brute_force_under_capacity(data: st.DataObject) -> None:
    hours = data.draw(st.integers(2, 5))
    regions = ("A", "B")[: data.draw(st.integers(1, 2))]
    forecasts = [
        forecast(r, data.draw(st.lists(intensity, min_size=hours, max_size=hours))) for r in regions
    ]
    capacity = {r: data.draw(st.integers(0, 2)) for r in regions}
    pue = {r: data.draw(st.sampled_from([1000, 1250, 1500])) for r in regions}
    jobs = []
    for i in range(data.draw(st.integers(1, 5))):
        first = data.draw(st.integers(0, hours - 1))
        end = data.draw(st.integers(first + 1, hours))
        allowed = data.draw(st.lists(st.sampled_from(regions), min_size=1, unique=True))
        # Whole kWh (x 4): every cost is an exact integer, so float and integer optima agree.
        jobs.append(job(f"j{i}", data.draw(st.integers(1, 40)) * 4, 1, first, end, allowed))
    exact = plan(jobs, capacity, forecasts, now=T0, pue_milli=pue, z=0.0, method="exact")
    placed, total = brute_force(jobs, forecasts, capacity, pue)
    assert len(exact.assignments) == placed
    assert sum(a.expected_emissions_mg for a in exact.assignments) == total
    use = Counter((a.region, slot(a.start)) for a in exact.assignments)
    assert all(n <= capacity[r] for (r, _), n in use.items())
    for a in exact.assignments:
        j = next(j for j in jobs if j.id == a.job_id)
        assert j.earliest <= a.start and a.end <= j.deadline
    greedy = plan(jobs, capacity, forecasts, now=T0, pue_milli=pue, z=0.0)
    if len(greedy.assignments) == placed:
        assert sum(a.expected_emissions_mg for a in greedy.assignments) >= total


def test_exact_closes_the_documented_greedy_gap() -> None:
    forecasts = [forecast("A", [1_000_000, 100_000_000, 2_000_000])]
    jobs = [job("a", 10, 1, 0, 3), job("b", 4, 1, 0, 2)]
    result = plan(jobs, {"A": 1}, forecasts, now=T0, z=0.0, method="exact")
    assert result.saving.planned_mg == 24_000_000
    assert {a.job_id: slot(a.start) for a in result.assignments} == {"a": 2, "b": 0}


def test_exact_keeps_the_move_threshold() -> None:
    """Saving 100 g/kWh against sigma_pair = sqrt(2) x 80 g/kWh: the job stays."""
    j = job("x", 1, 1, 0, 2)
    kept = plan(
        [j], {"A": 1}, [forecast("A", [500_000, 400_000], sigma=80_000)], now=T0, method="exact"
    )
    moved = plan(
        [j], {"A": 1}, [forecast("A", [500_000, 400_000], sigma=60_000)], now=T0, method="exact"
    )
    assert kept.assignments[0].start == T0 and not kept.assignments[0].moved
    assert moved.assignments[0].moved and slot(moved.assignments[0].start) == 1


def test_exact_reports_infeasible_and_rejects_other_jobs() -> None:
    forecasts = [forecast("A", [1, 2])]
    result = plan(
        [job("a", 1, 1, 0, 1), job("b", 1, 1, 0, 1)], {"A": 1}, forecasts, now=T0, method="exact"
    )
    assert len(result.assignments) == 1
    assert "capacity" in result.infeasible[0].reason
    with pytest.raises(InputError, match="single-hour, single-GPU"):
        plan([job("long", 1, 2, 0, 2)], None, forecasts, now=T0, method="exact")
    with pytest.raises(InputError, match="method"):
        plan([job("a", 1, 1, 0, 1)], None, forecasts, now=T0, method="magic")


def test_greedy_can_miss_a_packing_that_exact_finds() -> None:
    """Capacity 1, hours cost 1/2/100. A (10 kWh, hours 0-2) chooses first and takes hour 0,
    so B and C (1 kWh each, hours 0-1) cannot both fit: the greedy reports C infeasible and
    says why; the exact method runs A at hour 2 and places all three."""
    forecasts = [forecast("A", [1_000_000, 2_000_000, 100_000_000])]
    jobs = [job("a", 10, 1, 0, 3), job("b", 1, 1, 0, 2), job("c", 1, 1, 0, 2)]
    greedy = plan(jobs, {"A": 1}, forecasts, now=T0, z=0.0)
    assert [i.job_id for i in greedy.infeasible] == ["c"]
    assert "method='exact'" in greedy.infeasible[0].reason
    exact = plan(jobs, {"A": 1}, forecasts, now=T0, z=0.0, method="exact")
    assert not exact.infeasible
    assert {a.job_id: slot(a.start) for a in exact.assignments}["a"] == 2


def test_repair_round_places_a_job_the_first_pass_left_stuck() -> None:
    """Hours cost 1/50/2, capacity 1. First pass: A (10 kWh, hours 0-2) takes hour 0, B hour 1,
    C (hours 0-1) is stuck. The repair round lets C choose first: C 0, A 2, B 1, all placed."""
    forecasts = [forecast("A", [1_000_000, 50_000_000, 2_000_000])]
    jobs = [job("a", 10, 1, 0, 3), job("b", 1, 1, 0, 2), job("c", 1, 1, 0, 2)]
    result = plan(jobs, {"A": 1}, forecasts, now=T0, z=0.0)
    assert not result.infeasible
    assert {a.job_id: slot(a.start) for a in result.assignments} == {"a": 2, "b": 1, "c": 0}
