"""Benchmark the scheduler: plan 10,000 jobs over 7 days of hourly slots in 4 regions.

Prints the planning time beside the time to merely sort the same job list (by deadline, then
energy), measured in the same run, as a ratio; the target is planning under 2 s (judged on the
process's CPU time, printed beside the wall time; see ``timing``).

    python3 benchmarks/schedule.py                       # timing only (a few seconds)
    python3 benchmarks/schedule.py --write-doc docs/scheduling.md
                                                         # also the 16-zone, full-year backtest
                                                         # table (about 1-2 min on 2 cores)
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from xcr_py.footprint.hourly import embedded_zones, load_zone
from xcr_py.schedule import Forecast, Job, plan
from xcr_py.schedule.backtest import JobMix, backtest_series

HOUR = timedelta(hours=1)
REGIONS = ("DE", "GB", "US-CAL-CISO", "SG")
START = datetime(2024, 6, 3, tzinfo=UTC)
HOURS = 7 * 24
JOBS = 10_000
CAPACITY_GPUS = 150
TARGET_S = 2.0
BEGIN, END = "<!-- backtest-table:begin -->", "<!-- backtest-table:end -->"


def make_jobs(count: int = JOBS, seed: int = 1) -> list[Job]:
    """Deterministic mix: 1-8 h, 1-4 GPUs, release in the first 5 days, slack up to the end."""
    rng = random.Random(seed)
    jobs = []
    for i in range(count):
        duration = rng.choice((1, 2, 4, 8))
        first = rng.randrange(0, 120)
        slack = rng.randrange(0, HOURS - first - duration + 1)
        regions = tuple(rng.sample(REGIONS, rng.randint(1, len(REGIONS))))
        jobs.append(
            Job(
                f"j{i}",
                rng.randint(10**8, 10**10),
                duration,
                START + first * HOUR,
                START + (first + duration + slack) * HOUR,
                regions,
                gpus=rng.choice((1, 1, 2, 4)),
            )
        )
    return jobs


def make_forecasts() -> list[Forecast]:
    """Persistence forecasts (same hour yesterday) for the week, from the embedded data."""
    forecasts = []
    for zone in REGIONS:
        series = load_zone(zone)
        t0 = int((START - series.start) // HOUR)
        history = np.asarray(series.values_mg_per_kwh[t0 - 29 * 24 : t0])
        forecasts.append(Forecast.persistence(zone, history, START, HOURS, series.source))
    return forecasts


def best_of(repeats: int, fn: object) -> tuple[float, float]:
    """Fastest of ``repeats`` calls: (wall seconds, CPU seconds of this process).

    The minimum is the figure least disturbed by other processes sharing the cores.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def timing() -> float:
    """Print the planning benchmark; return the planning CPU time in seconds.

    The target is judged on CPU time: on the shared 2-core machine the wall time also counts
    the other processes' turns (it equals CPU time when the machine is idle); both are printed.
    """
    jobs, forecasts = make_jobs(), make_forecasts()
    capacity = dict.fromkeys(REGIONS, CAPACITY_GPUS)
    result = plan(jobs, capacity, forecasts, now=START)
    plan_wall, plan_cpu = best_of(3, lambda: plan(jobs, capacity, forecasts, now=START))
    sort_wall, sort_cpu = best_of(5, lambda: sorted(jobs, key=lambda j: (j.deadline, -j.energy_mj)))
    moved = sum(a.moved for a in result.assignments)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"jobs {len(jobs):,}, horizon {HOURS} h, regions {len(REGIONS)}, "
        f"capacity {CAPACITY_GPUS} GPUs/region/h, persistence forecast; "
        f"{os.cpu_count()} cores, load average {load:.1f}"
    )
    print(
        f"placed {len(result.assignments):,}, infeasible {len(result.infeasible):,}, "
        f"moved {moved:,}, expected saving {result.saving.percent:.1f} % vs run-now"
    )
    print(
        f"plan: {plan_wall:.3f} s wall, {plan_cpu:.3f} s CPU (best of 3; target < {TARGET_S:.0f} s)"
        f"   sort same list: {sort_wall * 1000:.1f} ms wall, {sort_cpu * 1000:.1f} ms CPU "
        f"(best of 5)   ratio plan/sort: {plan_wall / sort_wall:.0f}x"
    )
    return plan_cpu


def write_doc(path: Path) -> None:
    """Replace the backtest table between the markers in ``path``."""
    from xcr_py.cli.schedule import backtest_table_markdown

    mix, sigma_pct = JobMix(), 10.0
    t = time.perf_counter()
    results = [
        backtest_series(load_zone(z), sigma_pct=sigma_pct, mix=mix) for z in embedded_zones()
    ]
    elapsed = time.perf_counter() - t
    table = backtest_table_markdown(results, mix, sigma_pct)
    stamp = (
        f"Generated by `python3 benchmarks/schedule.py --write-doc docs/scheduling.md` "
        f"({results[0].days} days per zone, {elapsed:.0f} s)."
    )
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path} lacks the {BEGIN} / {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    # Write beside and rename, so an interrupted run never leaves a half-written doc.
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(f"{head}{BEGIN}\n{stamp}\n\n{table}\n{END}{tail}", encoding="utf-8")
    partial.replace(path)
    print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-doc", type=Path, help="write the 16-zone backtest table here")
    args = parser.parse_args()
    plan_cpu = timing()
    if args.write_doc:
        write_doc(args.write_doc)
    return 0 if plan_cpu < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
