"""Carbon-aware placement of deferrable jobs: greedy by value with capacity, never past a deadline.

Algorithm (documented in ``docs/scheduling.md``):

1. Put every forecast on one hourly grid from ``now``; for each job duration ``d`` compute, with
   prefix sums, the mean facility intensity (forecast x PUE) of every ``d``-hour window.
2. Run-now baseline: jobs by earliest start, each in the earliest window with free capacity,
   home region first. This is what happens without the scheduler.
3. Plan: jobs by slack (hours of freedom) divided by energy per GPU-hour, ascending, so
   jobs with no choice go first and, at equal slack, the job that burns most per GPU-hour gets
   the clean slot (if some jobs then find every window full, one repair round lets them
   choose first, kept if it places more jobs). Each job takes its cheapest
   window with free capacity, but only if its expected saving over its run-now window exceeds
   ``z`` standard deviations of the forecast error of that difference; otherwise it runs as
   soon as capacity allows.

Without capacity limits each job's choice is independent, so the plan is the exact optimum for
the forecast (with zero error: the perfect-foresight bound). With binding capacity the greedy is
exact when all jobs are single-hour and share one window; otherwise it can differ from the
optimum (tests show an instance). ``method="exact"`` solves single-hour, single-GPU jobs
optimally as a min-cost assignment (:mod:`xcr_py.schedule.exact`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from xcr_py.errors import InputError, ScheduleError
from xcr_py.schedule.exact import min_cost_assignment
from xcr_py.schedule.forecast import Forecast
from xcr_py.schedule.model import Assignment, Infeasible, Job, Plan, Saving, window_emissions_mg
from xcr_py.units import MJ_PER_KWH, PUE_SCALE

__all__ = ["DEFAULT_Z", "INTENSITY_BASIS", "next_start", "plan"]

HOUR = timedelta(hours=1)
DEFAULT_Z = 1.0
"""A move is made only when its expected saving exceeds this many sigmas of forecast error."""
INTENSITY_BASIS = "location-based grid intensity, life-cycle (LCA) factors, mg CO2e/kWh"
MAX_HORIZON_H = 24 * 400
MAX_JOBS = 1_000_000
Z95 = 1.959964


def _floor_hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hours_between(start: datetime, when: datetime, *, up: bool) -> int:
    """Whole hours from ``start`` to ``when``, rounded up or down."""
    seconds = (when - start).total_seconds()
    return math.ceil(seconds / 3600) if up else math.floor(seconds / 3600)


@dataclass
class _Grid:
    """All forecasts on one hourly grid from ``start``; costs are mean facility intensity."""

    start: datetime
    regions: tuple[str, ...]
    intensity: np.ndarray  # (R, T) mg/kWh, 0 where not covered
    covered: np.ndarray  # (R, T) bool
    pue: np.ndarray  # (R,) thousandths
    sigma: np.ndarray  # (R,) mg/kWh per hour
    _costs: dict[int, np.ndarray]

    @property
    def hours(self) -> int:
        return int(self.intensity.shape[1])

    def cost(self, duration: int) -> np.ndarray:
        """(R, T-d+1): mean of intensity x PUE/1000 over each d-hour window; inf if uncovered."""
        cached = self._costs.get(duration)
        if cached is None:
            zero = np.zeros((len(self.regions), 1))
            total = np.concatenate([zero, np.cumsum(self.intensity, axis=1)], axis=1)
            gaps = np.concatenate([zero, np.cumsum(~self.covered, axis=1)], axis=1)
            sums = total[:, duration:] - total[:, :-duration]
            missing = gaps[:, duration:] - gaps[:, :-duration]
            scale = (self.pue / PUE_SCALE / duration)[:, None]
            cached = np.where(missing == 0, sums * scale, np.inf)
            self._costs[duration] = cached
        return cached

    def sigma_pair(self, a: int, b: int) -> float:
        """Std of the error of the difference between two windows' facility intensity.

        Errors are taken as fully correlated within a window (the window mean has the hourly
        sigma: conservative) and independent between the two windows.
        """
        sa = self.sigma[a] * self.pue[a] / PUE_SCALE
        sb = self.sigma[b] * self.pue[b] / PUE_SCALE
        return float(math.hypot(sa, sb))


def _build_grid(
    start: datetime, forecasts: Sequence[Forecast], pue_milli: Mapping[str, int]
) -> _Grid:
    end = max(f.end for f in forecasts)
    hours = _hours_between(start, end, up=False)
    if hours > MAX_HORIZON_H:
        raise InputError("forecasts", f"horizon must be <= {MAX_HORIZON_H} hours, got {hours}")
    hours = max(hours, 0)
    regions = tuple(f.region for f in forecasts)
    intensity = np.zeros((len(regions), hours))
    covered = np.zeros((len(regions), hours), dtype=bool)
    for row, forecast in enumerate(forecasts):
        offset = _hours_between(start, forecast.start, up=False)
        values = np.asarray(forecast.values_mg_per_kwh, dtype=np.float64)
        lo, hi = max(offset, 0), min(offset + len(values), hours)
        if lo < hi:
            intensity[row, lo:hi] = values[lo - offset : hi - offset]
            covered[row, lo:hi] = True
    pue = np.array([pue_milli.get(r, PUE_SCALE) for r in regions], dtype=np.float64)
    sigma = np.array([f.error.sigma_mg_per_kwh for f in forecasts])
    return _Grid(start, regions, intensity, covered, pue, sigma, {})


@dataclass
class _Slotted:
    """A job in grid coordinates."""

    index: int
    job: Job
    first: int  # earliest start slot
    last: int  # latest start slot meeting the deadline (may be < first)
    rows: np.ndarray  # allowed region rows in the job's order (home first)
    unknown: tuple[str, ...]  # allowed regions without a forecast
    # Capacity-free answers, computed once: first covered and cheapest window, and costs.
    first_cell: tuple[int, int] | None = None
    best_cell: tuple[int, int] | None = None
    first_cost: float = math.inf
    best_cost: float = math.inf

    @property
    def slack(self) -> int:
        return self.last - self.first


def _slot_jobs(jobs: Sequence[Job], grid: _Grid) -> list[_Slotted]:
    row_of = {r: i for i, r in enumerate(grid.regions)}
    slotted = []
    for index, job in enumerate(jobs):
        first = max(_hours_between(grid.start, job.earliest, up=True), 0)
        last = _hours_between(grid.start, job.deadline, up=False) - job.duration_h
        rows = np.array([row_of[r] for r in job.regions if r in row_of], dtype=np.intp)
        unknown = tuple(r for r in job.regions if r not in row_of)
        s = _Slotted(index, job, first, last, rows, unknown)
        raw = _raw_costs(grid, s)
        s.first_cell = _asap(raw)
        if s.first_cell is not None:
            s.best_cell = divmod(int(raw.argmin()), raw.shape[1])
            s.first_cost, s.best_cost = float(raw[s.first_cell]), float(raw[s.best_cell])
        slotted.append(s)
    return slotted


def _raw_costs(grid: _Grid, s: _Slotted) -> np.ndarray:
    """Costs of the job's windows (rows x starts) ignoring capacity; inf where uncovered."""
    d = s.job.duration_h
    last = min(s.last, grid.hours - d)
    if last < s.first or len(s.rows) == 0:
        return np.full((max(len(s.rows), 1), 0), np.inf)
    return grid.cost(d)[s.rows, s.first : last + 1]


def _masked(free: np.ndarray, s: _Slotted, raw: np.ndarray) -> np.ndarray:
    """``raw`` with inf where some hour of the window lacks the job's GPUs."""
    d = s.job.duration_h
    if raw.shape[1] == 0:
        return raw
    blocked = free[s.rows, s.first : s.first + raw.shape[1] + d - 1] < s.job.gpus
    if d > 1:
        # Full slots inside each d-hour window, by prefix sums (cheaper than a sliding minimum).
        counts = blocked.cumsum(axis=1)
        windows = counts[:, d - 1 :].copy()
        windows[:, 1:] -= counts[:, :-d]
        blocked = windows > 0
    return np.where(blocked, np.inf, raw)


def _window_costs(grid: _Grid, free: np.ndarray, s: _Slotted) -> tuple[np.ndarray, np.ndarray]:
    """Costs of the job's windows with inf where full, and without capacity."""
    raw = _raw_costs(grid, s)
    return _masked(free, s, raw), raw


def _fits(free: np.ndarray, s: _Slotted, cell: tuple[int, int]) -> bool:
    """Whether window ``cell`` (row in the job's regions, start offset) has the job's GPUs."""
    row, start = s.rows[cell[0]], s.first + cell[1]
    if s.job.duration_h == 1:
        return bool(free[row, start] >= s.job.gpus)
    return bool(free[row, start : start + s.job.duration_h].min() >= s.job.gpus)


def _why_infeasible(grid: _Grid, s: _Slotted, raw: np.ndarray, *, exact: bool = False) -> str:
    job = s.job
    if _hours_between(grid.start, job.deadline, up=False) - job.duration_h < s.first:
        return (
            f"deadline {job.deadline.isoformat()} leaves less than {job.duration_h} h after the "
            f"earliest start"
        )
    if len(s.rows) == 0:
        return f"no forecast for any allowed region ({', '.join(job.regions)})"
    if raw.size == 0 or not np.isfinite(raw).any():
        return "the forecasts do not cover any window before the deadline"
    regions = ", ".join(grid.regions[r] for r in s.rows)
    if exact:
        return (
            f"capacity: the free GPUs in {regions} before the deadline are all taken by other "
            "jobs (maximum placement)"
        )
    return (
        f"capacity: every window before the deadline is full in {regions} ({job.gpus} GPU(s) "
        "needed) after the jobs placed before it; the greedy order can miss a packing, "
        "method='exact' finds the maximum for single-hour, single-GPU jobs"
    )


def _asap(costs: np.ndarray) -> tuple[int, int] | None:
    """Earliest feasible window, home region first; None when none is feasible."""
    if costs.size == 0:
        return None
    # Rows are in the job's region order and columns in start order, so the first finite cell
    # in row-major order is the run-now window.
    flat = int(np.isfinite(costs).argmax())
    row, start = divmod(flat, costs.shape[1])
    return (row, start) if np.isfinite(costs[row, start]) else None


def _occupy(free: np.ndarray, row: int, start: int, job: Job) -> None:
    free[row, start : start + job.duration_h] -= job.gpus


def _capacity_array(
    grid: _Grid,
    capacity: Mapping[str, int] | None,
    jobs: Sequence[Job],
    committed: Iterable[Assignment],
) -> np.ndarray:
    """Free GPUs per (region, hour): capacity less what earlier plans already hold."""
    if capacity is None:
        unlimited = sum(j.gpus for j in jobs) + 1
        return np.full((len(grid.regions), grid.hours), unlimited, dtype=np.int64)
    for region, gpus in capacity.items():
        if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 0:
            raise InputError(f"capacity[{region!r}]", f"must be an integer >= 0 GPUs, got {gpus!r}")
    per_row = [capacity.get(r, 0) for r in grid.regions]
    free = np.repeat(np.array(per_row, dtype=np.int64)[:, None], grid.hours, axis=1)
    row_of = {r: i for i, r in enumerate(grid.regions)}
    for a in committed:
        if a.region in row_of:
            first = _hours_between(grid.start, a.start, up=False)
            lo, hi = max(first, 0), min(first + a.duration_h, grid.hours)
            if lo < hi:
                free[row_of[a.region], lo:hi] -= a.gpus
    return free


def _run_now(grid: _Grid, slotted: list[_Slotted], free: np.ndarray) -> dict[int, tuple[int, int]]:
    """The baseline: in order of earliest start, each job in its earliest feasible window."""
    placed: dict[int, tuple[int, int]] = {}
    for s in sorted(slotted, key=lambda s: (s.first, s.index)):
        choice = s.first_cell
        # Fast path: the first covered window usually has room; mask only when it does not.
        if choice is not None and not _fits(free, s, choice):
            choice = _asap(_masked(free, s, _raw_costs(grid, s)))
        if choice is not None:
            row, start = int(s.rows[choice[0]]), s.first + choice[1]
            placed[s.index] = (row, start)
            _occupy(free, row, start, s.job)
    return placed


def _priority(s: _Slotted) -> tuple[float, float, int]:
    """Slack per unit of energy density, ascending: tight, energy-dense jobs choose first.

    Zero-slack jobs (no choice) come first; among equal slack, more energy per GPU-hour first
    (a clean GPU-hour is worth most to the job that burns most in it).
    """
    density = s.job.energy_mj / (s.job.gpus * s.job.duration_h)
    return (max(s.slack, 0) / density, -density, s.index)


def _normalise_forecasts(forecasts: Mapping[str, Forecast] | Iterable[Forecast]) -> list[Forecast]:
    items = list(forecasts.values()) if isinstance(forecasts, Mapping) else list(forecasts)
    if not items:
        raise InputError("forecasts", "must hold at least one region's forecast")
    regions = [f.region for f in items]
    if len(set(regions)) != len(regions):
        raise InputError("forecasts", "must hold one forecast per region")
    return items


def _check_pue(pue_milli: Mapping[str, int]) -> None:
    for region, value in pue_milli.items():
        if not isinstance(value, int) or not PUE_SCALE <= value <= 5 * PUE_SCALE:
            raise InputError(
                f"pue_milli[{region!r}]", f"must be an integer in [1000, 5000], got {value!r}"
            )


def plan(
    jobs: Sequence[Job],
    capacity: Mapping[str, int] | None,
    forecasts: Mapping[str, Forecast] | Iterable[Forecast],
    *,
    now: datetime | None = None,
    pue_milli: Mapping[str, int] | None = None,
    z: float = DEFAULT_Z,
    intensity_basis: str = INTENSITY_BASIS,
    committed: Iterable[Assignment] = (),
    method: str = "greedy",
) -> Plan:
    """Place ``jobs`` to minimise expected emissions under deadlines and capacity.

    Args:
        jobs: the deferrable jobs; ids must be unique.
        capacity: GPUs per hourly slot for each region; ``None`` for unlimited. A region
            missing from the mapping has no capacity.
        forecasts: one :class:`Forecast` per region (mapping or iterable).
        now: planning time; no job starts before the hour containing it. Default: the hour of
            the earliest ``earliest``.
        pue_milli: PUE per region in thousandths (default 1000).
        z: a job leaves its run-now window only when the expected saving exceeds ``z`` sigmas
            of the forecast error of the difference.
        intensity_basis: what the forecast values are, recorded in the plan.
        committed: assignments of earlier plans still holding GPUs (a render queue planning
            jobs one at a time passes what it has already scheduled).
        method: ``"greedy"`` (any jobs; fast) or ``"exact"`` (single-hour, single-GPU jobs;
            a min-cost assignment, optimal under capacity; for small and medium queues).

    Returns:
        A :class:`Plan`: an assignment per placed job, every other job in ``infeasible``.
    """
    jobs = list(jobs)
    if len(jobs) > MAX_JOBS:
        raise InputError("jobs", f"at most {MAX_JOBS} jobs per plan, got {len(jobs)}")
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError("jobs", f"job ids must be unique; {dup!r} repeats")
    if method not in ("greedy", "exact"):
        raise InputError("method", f"must be 'greedy' or 'exact', got {method!r}")
    if not (math.isfinite(z) and z >= 0):
        raise InputError("z", f"must be finite and >= 0, got {z!r}")
    if now is not None and now.utcoffset() is None:
        raise InputError("now", "must be timezone-aware (UTC)")
    items = _normalise_forecasts(forecasts)
    pue = dict(pue_milli or {})
    _check_pue(pue)
    if now is None:
        now = min((j.earliest for j in jobs), default=min(f.start for f in items))
    grid = _build_grid(_floor_hour(now), items, pue)
    slotted = _slot_jobs(jobs, grid)
    capacity_array = _capacity_array(grid, capacity, jobs, committed)

    baseline = _run_now(grid, slotted, capacity_array.copy())
    if method == "greedy":
        chosen, infeasible, stuck = _greedy(grid, slotted, capacity_array.copy(), z)
        if stuck:
            # One repair round: the jobs that found every window full choose first. Kept only
            # if it places more jobs (placing a job beats a cleaner hour for another).
            retry, retry_infeasible, _ = _greedy(grid, slotted, capacity_array, z, stuck)
            if len(retry) > len(chosen):
                chosen, infeasible = retry, retry_infeasible
    else:
        chosen, infeasible = _exact(grid, slotted, capacity_array, baseline, z)
    return _assemble(grid, jobs, chosen, baseline, infeasible, items, intensity_basis)


def _greedy(
    grid: _Grid,
    slotted: list[_Slotted],
    free: np.ndarray,
    z: float,
    promoted: frozenset[int] = frozenset(),
) -> tuple[dict[int, tuple[int, int, bool]], list[Infeasible], frozenset[int]]:
    """Jobs in priority order (``promoted`` first), each in its cheapest free window if the
    move clears the bar. Also returns the jobs that failed for capacity alone."""
    chosen: dict[int, tuple[int, int, bool]] = {}
    infeasible: list[Infeasible] = []
    stuck = set()
    for s in sorted(slotted, key=lambda s: (s.index not in promoted, *_priority(s))):
        first, best = s.first_cell, s.best_cell
        if first is None or best is None:
            infeasible.append(Infeasible(s.job.id, _why_infeasible(grid, s, _raw_costs(grid, s))))
            continue
        first_cost, best_cost = s.first_cost, s.best_cost
        # Fast path: if both the first covered and the cheapest window have room, they are
        # also the first and cheapest among the windows with room; else mask the full ones.
        if not (_fits(free, s, first) and _fits(free, s, best)):
            raw = _raw_costs(grid, s)
            costs = _masked(free, s, raw)
            masked_first = _asap(costs)
            if masked_first is None:
                infeasible.append(Infeasible(s.job.id, _why_infeasible(grid, s, raw)))
                stuck.add(s.index)
                continue
            first = masked_first
            best = divmod(int(costs.argmin()), costs.shape[1])
            first_cost, best_cost = float(costs[first]), float(costs[best])
        pick, moved = first, False
        if best != first:
            rows = (int(s.rows[first[0]]), int(s.rows[best[0]]))
            if first_cost - best_cost > z * grid.sigma_pair(*rows):
                pick, moved = best, True
        row, start = int(s.rows[pick[0]]), s.first + pick[1]
        chosen[s.index] = (row, start, moved)
        _occupy(free, row, start, s.job)
    return chosen, infeasible, frozenset(stuck)


def _exact(
    grid: _Grid,
    slotted: list[_Slotted],
    free: np.ndarray,
    baseline: dict[int, tuple[int, int]],
    z: float,
) -> tuple[dict[int, tuple[int, int, bool]], list[Infeasible]]:
    """Min-cost assignment of single-hour, single-GPU jobs; the move bar becomes a penalty.

    A window other than the job's run-now window costs ``z`` sigmas of the forecast error of
    the difference on top of its expected emissions, so a lone job moves exactly when the
    greedy would, and jointly the total is optimal.
    """
    for s in slotted:
        if s.job.duration_h != 1 or s.job.gpus != 1:
            raise InputError(
                f"jobs[{s.job.id!r}]",
                f"method 'exact' takes single-hour, single-GPU jobs; got {s.job.duration_h} h, "
                f"{s.job.gpus} GPU(s)",
            )
    candidates: list[list[tuple[int, int, float]]] = []
    raws = []
    for s in slotted:
        costs, raw = _window_costs(grid, free, s)
        raws.append(raw)
        kwh = s.job.energy_mj / MJ_PER_KWH
        base = baseline.get(s.index)
        options = []
        for k, offset in zip(*np.nonzero(np.isfinite(costs)), strict=True):
            row, hour = int(s.rows[k]), s.first + int(offset)
            penalty = 0.0
            if base is not None and (row, hour) != base:
                penalty = z * grid.sigma_pair(base[0], row)
            options.append((row, hour, kwh * (float(costs[k, offset]) + penalty)))
        candidates.append(options)
    placed = min_cost_assignment(candidates, free)
    chosen: dict[int, tuple[int, int, bool]] = {}
    infeasible: list[Infeasible] = []
    for s, raw in zip(slotted, raws, strict=True):
        if s.index in placed:
            row, hour = placed[s.index]
            chosen[s.index] = (row, hour, baseline.get(s.index) not in (None, (row, hour)))
        else:
            infeasible.append(Infeasible(s.job.id, _why_infeasible(grid, s, raw, exact=True)))
    return chosen, infeasible


def _hourly(grid: _Grid, row: int, start: int, duration: int) -> tuple[int, ...]:
    return tuple(grid.intensity[row, start : start + duration].astype(np.int64).tolist())


def _assemble(
    grid: _Grid,
    jobs: Sequence[Job],
    chosen: dict[int, tuple[int, int, bool]],
    baseline: dict[int, tuple[int, int]],
    infeasible: list[Infeasible],
    forecasts: Sequence[Forecast],
    intensity_basis: str,
) -> Plan:
    assignments = []
    run_now_total = planned_total = 0
    low = high = 0.0
    spread = 0.0
    for index, job in enumerate(jobs):
        if index not in chosen:
            continue
        row, start, moved = chosen[index]
        pue = int(grid.pue[row])
        hourly = _hourly(grid, row, start, job.duration_h)
        planned = window_emissions_mg(job.energy_mj, hourly, pue)
        base_region = base_start = base_mg = None
        if index in baseline:
            brow, bstart = baseline[index]
            base_region, base_start = grid.regions[brow], grid.start + bstart * HOUR
            base_mg = window_emissions_mg(
                job.energy_mj, _hourly(grid, brow, bstart, job.duration_h), int(grid.pue[brow])
            )
            run_now_total += base_mg
            planned_total += planned
            delta = base_mg - planned
            lo_share = job.energy_low_mj / job.energy_mj  # type: ignore[operator]
            hi_share = job.energy_high_mj / job.energy_mj  # type: ignore[operator]
            low += min(delta * lo_share, delta * hi_share)
            high += max(delta * lo_share, delta * hi_share)
            if (brow, bstart) != (row, start):
                high_kwh = job.energy_high_mj / MJ_PER_KWH  # type: ignore[operator]
                spread += high_kwh * grid.sigma_pair(brow, row)
        assignments.append(
            Assignment(
                job_id=job.id,
                region=grid.regions[row],
                start=grid.start + start * HOUR,
                duration_h=job.duration_h,
                pue_milli=pue,
                hourly_forecast_mg_per_kwh=hourly,
                expected_emissions_mg=planned,
                run_now_region=base_region,
                run_now_start=base_start,
                run_now_emissions_mg=base_mg,
                moved=moved,
                gpus=job.gpus,
            )
        )
    saving = Saving(
        expected_mg=run_now_total - planned_total,
        low_mg=math.floor(low - Z95 * spread),
        high_mg=math.ceil(high + Z95 * spread),
        run_now_mg=run_now_total,
        planned_mg=planned_total,
    )
    order = {j.id: i for i, j in enumerate(jobs)}
    infeasible.sort(key=lambda x: order[x.job_id])
    return Plan(
        start=grid.start,
        assignments=tuple(assignments),
        infeasible=tuple(infeasible),
        saving=saving,
        error_model="; ".join(f"{f.region}: {f.error.description}" for f in forecasts),
        intensity_basis=intensity_basis,
        sources={f.region: f.source for f in forecasts},
    )


def next_start(
    job: Job,
    forecasts: Mapping[str, Forecast] | Iterable[Forecast],
    *,
    capacity: Mapping[str, int] | None = None,
    now: datetime | None = None,
    pue_milli: Mapping[str, int] | None = None,
    z: float = DEFAULT_Z,
    committed: Iterable[Assignment] = (),
) -> datetime:
    """When a render queue should start ``job``: the start of its planned window.

    ``committed`` are assignments already holding GPUs (see :func:`plan`).

    Raises:
        ScheduleError: the job cannot meet its deadline (the message says why).
    """
    result = plan(
        [job], capacity, forecasts, now=now, pue_milli=pue_milli, z=z, committed=committed
    )
    if result.infeasible:
        raise ScheduleError(f"job {job.id!r} is infeasible: {result.infeasible[0].reason}")
    return result.assignments[0].start
