"""Value types of the scheduler: jobs in, a plan out.

Units are in the names: energy in millijoules (mJ) of IT energy, intensity in mg CO2e/kWh,
PUE in thousandths, emissions in mg CO2e (the conventions of :mod:`xcr_py.units`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from xcr_py.errors import InputError
from xcr_py.units import MJ_PER_KWH, PUE_SCALE, ceil_div

__all__ = [
    "MAX_DURATION_H",
    "Assignment",
    "Infeasible",
    "Job",
    "Plan",
    "Saving",
    "window_emissions_mg",
]

MAX_DURATION_H = 24 * 31
"""Longest job the planner accepts (one month of hourly slots)."""

HOUR = timedelta(hours=1)


class HourlyValues(Protocol):
    """Anything giving the intensity (mg CO2e/kWh) of the UTC hour containing ``when``."""

    def at(self, when: datetime) -> int:
        """Intensity of the hour containing ``when``."""
        ...


def window_emissions_mg(energy_mj: int, hourly_mg_per_kwh: tuple[int, ...], pue_milli: int) -> int:
    """Emissions of ``energy_mj`` spread evenly over the given hours, in mg CO2e, rounded up.

    Equal to :func:`xcr_py.units.operational_emissions_mg` with the window's mean intensity.
    """
    hours = len(hourly_mg_per_kwh)
    return ceil_div(energy_mj * pue_milli * sum(hourly_mg_per_kwh), hours * PUE_SCALE * MJ_PER_KWH)


@dataclass(frozen=True)
class Job:
    """A deferrable render job.

    Args:
        id: unique name of the job in its queue.
        energy_mj: expected IT energy in mJ (estimated, e.g. from earlier renders of the model).
        duration_h: whole hourly slots the job occupies, 1..MAX_DURATION_H.
        earliest: UTC time the job may start; it starts at the first hour boundary at or after it.
        deadline: UTC time by which the job must have finished.
        regions: allowed regions, the first being the home region where "run now" would run it.
        gpus: GPUs held for every hour of the job.
        energy_low_mj, energy_high_mj: interval of the energy estimate; default: the point value.
    """

    id: str
    energy_mj: int
    duration_h: int
    earliest: datetime
    deadline: datetime
    regions: tuple[str, ...]
    gpus: int = 1
    energy_low_mj: int | None = None
    energy_high_mj: int | None = None

    def __post_init__(self) -> None:
        f = f"jobs[{self.id!r}]"
        if not isinstance(self.id, str) or not self.id:
            raise InputError("job.id", "must be a non-empty string")
        for name in ("energy_mj", "duration_h", "gpus"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{f}.{name}", f"must be an integer >= 1, got {value!r}")
        if self.duration_h > MAX_DURATION_H:
            raise InputError(
                f"{f}.duration_h", f"must be <= {MAX_DURATION_H}, got {self.duration_h}"
            )
        low = self.energy_mj if self.energy_low_mj is None else self.energy_low_mj
        high = self.energy_mj if self.energy_high_mj is None else self.energy_high_mj
        if not (
            isinstance(low, int) and isinstance(high, int) and 0 <= low <= self.energy_mj <= high
        ):
            raise InputError(
                f"{f}.energy_low_mj/energy_high_mj",
                f"need 0 <= low <= energy_mj <= high, got {low!r}, {self.energy_mj}, {high!r}",
            )
        object.__setattr__(self, "energy_low_mj", low)
        object.__setattr__(self, "energy_high_mj", high)
        for name in ("earliest", "deadline"):
            when = getattr(self, name)
            if not isinstance(when, datetime) or when.utcoffset() is None:
                raise InputError(f"{f}.{name}", "must be a timezone-aware datetime (UTC)")
        if self.deadline <= self.earliest:
            raise InputError(
                f"{f}.deadline", f"must be after earliest ({self.earliest.isoformat()})"
            )
        regions = tuple(self.regions)
        if not regions or not all(isinstance(r, str) and r for r in regions):
            raise InputError(f"{f}.regions", "must list at least one region name")
        if len(set(regions)) != len(regions):
            raise InputError(f"{f}.regions", "must not repeat a region")
        object.__setattr__(self, "regions", regions)

    @property
    def energy_kwh(self) -> float:
        """Expected energy in kWh (for display only)."""
        return self.energy_mj / MJ_PER_KWH


@dataclass(frozen=True)
class Assignment:
    """Where and when one job runs, with the forecast it was placed on.

    ``hourly_forecast_mg_per_kwh`` are the forecast intensities of the hours used; the receipt
    later records the intensities actually observed for the same hours (see
    :meth:`actual_intensity_mg_per_kwh`).
    """

    job_id: str
    region: str
    start: datetime
    duration_h: int
    pue_milli: int
    hourly_forecast_mg_per_kwh: tuple[int, ...]
    expected_emissions_mg: int
    run_now_region: str | None
    run_now_start: datetime | None
    run_now_emissions_mg: int | None
    moved: bool
    gpus: int = 1

    @property
    def end(self) -> datetime:
        """UTC time the job's last slot ends."""
        return self.start + self.duration_h * HOUR

    @property
    def forecast_intensity_mg_per_kwh(self) -> int:
        """Mean forecast intensity over the job's hours, rounded up."""
        return ceil_div(sum(self.hourly_forecast_mg_per_kwh), self.duration_h)

    def actual_intensity_mg_per_kwh(self, values_by_hour: HourlyValues) -> int:
        """Mean intensity actually observed over the job's hours, rounded up.

        ``values_by_hour`` is anything with ``at(when) -> int`` (e.g. an
        :class:`~xcr_py.footprint.hourly.HourlySeries` for the region).
        """
        hours = [int(values_by_hour.at(self.start + k * HOUR)) for k in range(self.duration_h)]
        return ceil_div(sum(hours), self.duration_h)


@dataclass(frozen=True)
class Infeasible:
    """A job the plan could not place before its deadline, with the reason; never dropped."""

    job_id: str
    reason: str


@dataclass(frozen=True)
class Saving:
    """Expected saving of the plan versus running every job now, in mg CO2e.

    ``low_mg``..``high_mg`` is a 95 % interval combining the jobs' energy intervals and the
    forecast error model (errors of different jobs taken as fully correlated: conservative).
    """

    expected_mg: int
    low_mg: int
    high_mg: int
    run_now_mg: int
    planned_mg: int

    @property
    def percent(self) -> float:
        """Expected saving as a percentage of the run-now emissions."""
        return 100.0 * self.expected_mg / self.run_now_mg if self.run_now_mg else 0.0


@dataclass(frozen=True)
class Plan:
    """The planner's output: one assignment per placed job, every other job as infeasible."""

    start: datetime
    assignments: tuple[Assignment, ...]
    infeasible: tuple[Infeasible, ...]
    saving: Saving
    error_model: str
    intensity_basis: str
    sources: dict[str, str] = field(default_factory=dict)

    def by_job(self) -> dict[str, Assignment]:
        """Assignments keyed by job id."""
        return {a.job_id: a for a in self.assignments}
