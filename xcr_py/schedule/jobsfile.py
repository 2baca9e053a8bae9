"""The ``jobs.json`` file read by ``xcr schedule plan``.

::

    {
      "now": "2024-06-03T00:00:00Z",            optional; default: earliest job start
      "capacity": {"DE": 8, "GB": 4},           optional GPUs per hour slot; default unlimited
      "pue_milli": {"DE": 1200},                optional, thousandths; default 1000
      "jobs": [
        {"id": "trailer-4k", "energy_kwh": 3.5, "energy_interval_kwh": [3.0, 4.2],
         "duration_h": 2, "earliest": "2024-06-03T08:00:00Z",
         "deadline": "2024-06-04T08:00:00Z", "regions": ["DE", "GB"], "gpus": 1}
      ]
    }

``energy_mj`` (integer) may replace ``energy_kwh``; ``regions`` may be omitted when the
command is given ``--region`` (the command then plans only in those regions).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from xcr_py.errors import InputError
from xcr_py.schedule.model import Job
from xcr_py.units import MJ_PER_KWH

__all__ = ["JobsFile", "load_jobs_file", "parse_jobs"]

MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class JobsFile:
    """A parsed jobs file."""

    jobs: tuple[Job, ...]
    capacity: dict[str, int] | None
    pue_milli: dict[str, int]
    now: datetime | None


def _time(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise InputError(field, "must be an ISO 8601 time string with a UTC offset")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(field, f"is not an ISO 8601 time: {value!r}") from exc
    if when.utcoffset() is None:
        raise InputError(field, f"needs a UTC offset (e.g. 'Z'), got {value!r}")
    return when


def _kwh_to_mj(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field, f"must be a number of kWh, got {value!r}")
    if value <= 0 or value > 1e9:
        raise InputError(field, f"must be in (0, 1e9] kWh, got {value!r}")
    return max(1, round(value * MJ_PER_KWH))


def _int_map(value: object, field: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise InputError(field, "must be an object of region -> integer")
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, int):
            raise InputError(f"{field}.{key}", f"must be an integer, got {item!r}")
    return dict(value)


def _job(raw: object, index: int, default_regions: tuple[str, ...]) -> Job:
    field = f"jobs[{index}]"
    if not isinstance(raw, dict):
        raise InputError(field, "must be an object")
    known = {
        "id",
        "energy_kwh",
        "energy_mj",
        "energy_interval_kwh",
        "energy_low_mj",
        "energy_high_mj",
        "duration_h",
        "earliest",
        "deadline",
        "regions",
        "gpus",
    }
    extra = sorted(set(raw) - known)
    if extra:
        raise InputError(
            f"{field}.{extra[0]}", f"unknown field; allowed: {', '.join(sorted(known))}"
        )
    if ("energy_kwh" in raw) == ("energy_mj" in raw):
        raise InputError(f"{field}.energy_kwh", "give exactly one of energy_kwh or energy_mj")
    # JSON values: their types and ranges are checked by Job, which names the field.
    energy: Any
    low: Any
    high: Any
    if "energy_kwh" in raw:
        energy = _kwh_to_mj(raw["energy_kwh"], f"{field}.energy_kwh")
        interval = raw.get("energy_interval_kwh")
        if interval is None:
            low = high = energy
        elif isinstance(interval, list) and len(interval) == 2:
            low = _kwh_to_mj(interval[0], f"{field}.energy_interval_kwh[0]")
            high = _kwh_to_mj(interval[1], f"{field}.energy_interval_kwh[1]")
        else:
            raise InputError(f"{field}.energy_interval_kwh", "must be [low, high] in kWh")
    else:
        energy = raw["energy_mj"]
        low = raw.get("energy_low_mj", energy)
        high = raw.get("energy_high_mj", energy)
    regions = raw.get("regions", list(default_regions))
    if not isinstance(regions, list) or not regions:
        raise InputError(f"{field}.regions", "must list at least one region (or pass --region)")
    try:
        return Job(
            id=str(raw.get("id", f"job-{index}")),
            energy_mj=energy,
            duration_h=raw.get("duration_h", 1),
            earliest=_time(raw.get("earliest"), f"{field}.earliest"),
            deadline=_time(raw.get("deadline"), f"{field}.deadline"),
            regions=tuple(regions),
            gpus=raw.get("gpus", 1),
            energy_low_mj=low,
            energy_high_mj=high,
        )
    except InputError as exc:
        # Name the job by its position in the file, which the user can find.
        raise InputError(f"{field}.{exc.field.rsplit('.', 1)[-1]}", exc.problem) from exc


def parse_jobs(document: object, regions: tuple[str, ...] = ()) -> JobsFile:
    """Validate a decoded jobs document; ``regions`` (``--region``) serve jobs that list none."""
    if not isinstance(document, dict):
        raise InputError("jobs file", "must be a JSON object with a 'jobs' list")
    raw_jobs = document.get("jobs")
    if not isinstance(raw_jobs, list) or not raw_jobs:
        raise InputError("jobs", "must be a non-empty list")
    jobs = tuple(_job(raw, i, regions) for i, raw in enumerate(raw_jobs))
    capacity = None
    if document.get("capacity") is not None:
        capacity = _int_map(document["capacity"], "capacity")
    pue = _int_map(document.get("pue_milli", {}), "pue_milli")
    now = _time(document["now"], "now") if document.get("now") is not None else None
    return JobsFile(jobs, capacity, pue, now)


def load_jobs_file(path: Path, regions: tuple[str, ...] = ()) -> JobsFile:
    """Read and validate ``path``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(str(path), f"must be <= {MAX_FILE_BYTES} bytes, got {size}")
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"is not valid JSON: {exc}") from exc
    return parse_jobs(document, regions)
