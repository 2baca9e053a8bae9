"""Embodied-emissions table of device classes and the default PUE, from package data.

Every entry carries its source and method; where a figure is an estimate (most are: vendors
publish few GPU life-cycle assessments) it says so. See ``xcr_py/data/embodied_devices.json``
and ``xcr_py/data/pue.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from xcr_py.errors import InputError
from xcr_py.footprint.factor import Factor, Number
from xcr_py.footprint.sci import EmbodiedShare

__all__ = ["EmbodiedDevice", "default_pue", "device_share", "embodied_device",
           "embodied_devices", "site_pue"]


@lru_cache(maxsize=2)
def _load(name: str) -> dict[str, Any]:
    return json.loads(resources.files("xcr_py.data").joinpath(name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class EmbodiedDevice:
    """One row of the table: ``total`` (TE, kgCO2e) and the default ``lifespan`` (EL, years)."""

    name: str
    kind: str
    total: Factor
    lifespan: Factor


def embodied_devices() -> tuple[str, ...]:
    """Names in the embodied table (e.g. ``"A100"``, ``"server-8gpu"``)."""
    return tuple(sorted(_load("embodied_devices.json")["devices"]))


def embodied_device(name: str) -> EmbodiedDevice:
    """Look up a device class; :class:`InputError` names the known ones."""
    table = _load("embodied_devices.json")
    rows = {k.lower(): (k, v) for k, v in table["devices"].items()}
    key = name.strip().lower().replace(" ", "")
    if key not in rows:
        raise InputError("device", f"no embodied data for {name!r}; known: "
                         f"{', '.join(embodied_devices())}")
    canonical, row = rows[key]
    total = Factor(row["total_kg"], "kgCO2e", row["source"], row["method"],
                   tuple(row["interval_kg"]), row.get("note", ""))
    lifespan = Factor(table["lifespan_default_years"], "years", table["lifespan_source"],
                      "declared")
    return EmbodiedDevice(canonical, row["kind"], total, lifespan)


def device_share(name: str, reserved_s: Number, *, resources_reserved: Number = 1,
                 resources_total: Number = 1, lifespan_years: Number | None = None,
                 reserved_source: str = "metered window duration") -> EmbodiedShare:
    """SCI embodied inputs for ``reserved_s`` seconds on a device class from the table.

    ``resources_reserved / resources_total`` is the resource share (e.g. 1 of 8 GPUs when the
    row is a whole server; 1/1 when the row is the GPU itself).
    """
    device = embodied_device(name)
    lifespan = device.lifespan if lifespan_years is None else Factor(
        lifespan_years, "years", "declared by the site", "declared")
    return EmbodiedShare(
        total=device.total,
        lifespan=lifespan,
        reserved=Factor(reserved_s, "s", reserved_source, "measured"),
        resources_reserved=Factor(resources_reserved, "count", "declared", "declared"),
        resources_total=Factor(resources_total, "count", "declared", "declared"),
    )


def default_pue() -> Factor:
    """PUE 1.56 (Uptime Institute Global Data Center Survey 2024), with XCR's stated range."""
    row = _load("pue.json")
    return Factor(row["value"], "ratio", row["source"], row["method"],
                  tuple(row["interval"]), row["note"])


def site_pue(value: Number, source: str = "declared by the site",
             interval: tuple[Number, Number] | None = None) -> Factor:
    """A site's own PUE; :class:`InputError` if below 1."""
    pue = Factor(value, "ratio", source, "declared",
                 None if interval is None else (Decimal(str(interval[0])),
                                                Decimal(str(interval[1]))))
    if pue.low < 1:
        raise InputError("pue", f"must be >= 1.0, got {pue.low}")
    return pue
