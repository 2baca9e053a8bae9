"""Schedule: carbon-aware placement of deferrable render jobs under deadlines and capacity.

Public API::

    plan(jobs, capacity, forecasts, *, now=None, pue_milli=None, z=1.0, committed=()) -> Plan
    next_start(job, forecasts, *, capacity=None, now=None, pue_milli=None, z=1.0,
               committed=()) -> datetime

Forecasts carry an error model; a job leaves its run-now window only when the expected saving
exceeds the forecast's uncertainty. ``backtest`` replays hourly history with realistic
forecast error.
"""

from xcr_py.schedule.forecast import ErrorModel, Forecast, persistence_sigma_mg_per_kwh
from xcr_py.schedule.model import Assignment, Infeasible, Job, Plan, Saving, window_emissions_mg
from xcr_py.schedule.planner import DEFAULT_Z, INTENSITY_BASIS, next_start, plan

__all__ = [
    "DEFAULT_Z",
    "INTENSITY_BASIS",
    "Assignment",
    "ErrorModel",
    "Forecast",
    "Infeasible",
    "Job",
    "Plan",
    "Saving",
    "next_start",
    "persistence_sigma_mg_per_kwh",
    "plan",
    "window_emissions_mg",
]
