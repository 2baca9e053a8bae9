"""The Python API a render queue calls, and its input checks."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import xcr_py.schedule as schedule
from xcr_py.errors import InputError, ScheduleError
from xcr_py.footprint.hourly import load_zone
from xcr_py.schedule import Forecast, Job, next_start, plan, window_emissions_mg
from xcr_py.units import operational_emissions_mg

from .helpers import HOUR, T0, forecast, job


def test_public_surface() -> None:
    for name in schedule.__all__:
        assert getattr(schedule, name) is not None
    assert {"plan", "next_start", "Plan", "Job", "Forecast", "ErrorModel"} <= set(schedule.__all__)


def test_next_start_picks_cleanest_window_and_reports_infeasible() -> None:
    forecasts = [forecast("A", [300_000, 200_000, 100_000, 400_000])]
    assert next_start(job("x", 2, 2, 0, 4), forecasts, now=T0) == T0 + HOUR  # (200+100)/2
    with pytest.raises(ScheduleError, match="deadline"):
        next_start(job("late", 2, 3, 2, 4), forecasts, now=T0)
    with pytest.raises(ScheduleError, match="capacity"):
        next_start(job("big", 2, 1, 0, 4, gpus=3), forecasts, capacity={"A": 2}, now=T0)
    with pytest.raises(ScheduleError, match="no forecast"):
        next_start(job("far", 2, 1, 0, 4, regions=("B",)), forecasts, now=T0)


def test_assignment_records_hours_and_intensity_for_the_receipt() -> None:
    series = load_zone("DE")
    start = datetime.fromisoformat("2024-07-01T00:00:00+00:00")
    offset = int((start - series.start) // HOUR)
    values = series.values_mg_per_kwh[offset : offset + 24]
    f = Forecast.perfect("DE", __import__("numpy").asarray(values), start, series.source)
    a = plan([Job("r", 10**9, 3, start, start + 24 * HOUR, ("DE",))], None, [f], z=0).assignments[0]
    k = int((a.start - start) // HOUR)
    assert a.hourly_forecast_mg_per_kwh == values[k : k + 3]
    assert a.actual_intensity_mg_per_kwh(series) == a.forecast_intensity_mg_per_kwh
    assert a.forecast_intensity_mg_per_kwh == -(-sum(values[k : k + 3]) // 3)
    assert a.end == a.start + 3 * HOUR


def test_window_emissions_match_on_chain_arithmetic() -> None:
    assert window_emissions_mg(123_456_789, (456_789,), 1_234) == operational_emissions_mg(
        123_456_789, 456_789, 1_234
    )
    # Two hours: the mean intensity (exact, even when not an integer).
    assert window_emissions_mg(3_600_000_000, (1, 2), 1000) == 2  # 1.5 mg rounds up


def test_pue_weighs_regions() -> None:
    forecasts = [forecast("A", [100_000]), forecast("B", [90_000])]
    j = job("x", 1, 1, 0, 1, regions=("A", "B"))
    assert plan([j], None, forecasts, z=0).assignments[0].region == "B"
    heavy = plan([j], None, forecasts, z=0, pue_milli={"B": 1200}).assignments[0]
    assert heavy.region == "A" and heavy.pue_milli == 1000


def test_now_later_than_earliest_starts_no_earlier_than_now() -> None:
    forecasts = [forecast("A", [100_000, 900_000, 900_000, 900_000])]
    result = plan([job("x", 1, 1, 0, 4)], None, forecasts, now=T0 + timedelta(minutes=90), z=0)
    assert result.start == T0 + HOUR
    assert result.assignments[0].start >= T0 + HOUR


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"energy_mj": 0}, "energy_mj"),
        ({"duration_h": 0}, "duration_h"),
        ({"duration_h": 10_000}, "duration_h"),
        ({"gpus": 0}, "gpus"),
        ({"deadline": T0}, "deadline"),
        ({"earliest": datetime(2024, 3, 1)}, "earliest"),
        ({"regions": ()}, "regions"),
        ({"regions": ("A", "A")}, "regions"),
        ({"energy_low_mj": 10**12}, "energy_low_mj"),
    ],
)
def test_job_validation_names_the_field(kwargs: dict, field: str) -> None:
    base = {
        "id": "x",
        "energy_mj": 10**9,
        "duration_h": 1,
        "earliest": T0,
        "deadline": T0 + 5 * HOUR,
        "regions": ("A",),
    }
    with pytest.raises(InputError) as info:
        Job(**{**base, **kwargs})
    assert field in info.value.field


def test_plan_input_errors_change_nothing() -> None:
    capacity = {"A": 2}
    forecasts = [forecast("A", [1, 2, 3])]
    jobs = [job("x", 1, 1, 0, 3)]
    with pytest.raises(InputError, match="unique"):
        plan(jobs + jobs, capacity, forecasts)
    with pytest.raises(InputError, match=r"capacity\['A'\]"):
        plan(jobs, {"A": -1}, forecasts)
    with pytest.raises(InputError, match=r"pue_milli\['A'\].*\[1000, 5000\]"):
        plan(jobs, capacity, forecasts, pue_milli={"A": 900})
    with pytest.raises(InputError, match="z"):
        plan(jobs, capacity, forecasts, z=-1)
    with pytest.raises(InputError, match="one forecast per region"):
        plan(jobs, capacity, forecasts * 2)
    with pytest.raises(InputError, match="hour boundary"):
        forecast("A", [1], start=T0 + timedelta(minutes=5))
    plan(jobs, capacity, forecasts)
    assert capacity == {"A": 2}  # the caller's capacity is not consumed


def test_render_queue_one_job_at_a_time_respects_committed_capacity() -> None:
    """A queue scheduling jobs one by one passes what it already holds as ``committed``."""
    forecasts = [forecast("A", [300_000, 100_000, 200_000, 400_000])]
    held: list = []
    starts = []
    for i in range(3):
        j = job(f"q{i}", 1, 1, 0, 4, gpus=2)
        result = plan([j], {"A": 2}, forecasts, now=T0, z=0, committed=held)
        held.extend(result.assignments)
        starts.append(result.assignments[0].start)
    assert starts == [T0 + HOUR, T0 + 2 * HOUR, T0]  # cleanest first, then the next cleanest
    assert [a.gpus for a in held] == [2, 2, 2]
    with pytest.raises(ScheduleError, match="capacity"):
        next_start(
            job("q3", 1, 1, 0, 3, gpus=2), forecasts, capacity={"A": 2}, now=T0, committed=held
        )
    assert (
        next_start(
            job("q4", 1, 1, 0, 4, gpus=2), forecasts, capacity={"A": 2}, now=T0, committed=held
        )
        == T0 + 3 * HOUR
    )
