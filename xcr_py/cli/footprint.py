"""``xcr footprint`` and ``xcr explain``: one code path from factors to the SCI footprint.

Both commands build the footprint with :func:`build_footprint` from the same options; ``explain``
then prints every step (or ``--json``). Energy comes from ``--energy-j``/``--energy-kwh`` or an
EnergyWindow JSON file (``--window``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from xcr_py.errors import InputError
from xcr_py.footprint import (
    ConstantIntensity,
    EmbeddedIntensity,
    EmbodiedShare,
    Factor,
    FileIntensity,
    Footprint,
    MarketBased,
    compute_footprint,
    default_pue,
    embodied_device,
    energy_factor_from_window,
    explain,
    site_pue,
)
from xcr_py.meter.window import EnergyWindow

__all__ = ["FootprintOptions", "build_footprint", "register"]


@dataclass(frozen=True)
class FootprintOptions:
    """The command-line factors (``None`` = not given)."""

    energy_j: float | None = None
    energy_kwh: float | None = None
    window: Path | None = None
    intensity: float | None = None
    zone: str | None = None
    intensity_file: Path | None = None
    hour: str | None = None
    pue: float | None = None
    device: str | None = None
    embodied_kg: float | None = None
    lifespan_years: float | None = None
    reserved_hours: float | None = None
    share: float = 1.0
    market_intensity: float | None = None
    instrument: str | None = None


def _parse_hour(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError("--hour", f"must be an ISO 8601 time, got {text!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _energy(o: FootprintOptions) -> tuple[Factor, EnergyWindow | None]:
    given = [x is not None for x in (o.energy_j, o.energy_kwh, o.window)]
    if sum(given) != 1:
        raise InputError("--energy-j", "give exactly one of --energy-j, --energy-kwh, --window")
    if o.window is not None:
        window = EnergyWindow.load(o.window)
        return energy_factor_from_window(window), window
    if o.energy_j is not None:
        return Factor(o.energy_j, "J", "declared on the command line", "declared"), None
    assert o.energy_kwh is not None  # exactly one of the three was given
    return Factor(o.energy_kwh, "kWh", "declared on the command line", "declared"), None


def _intensity(o: FootprintOptions, when: datetime | None) -> Factor:
    if o.intensity is not None:
        if o.zone or o.intensity_file:
            raise InputError("--intensity", "give either --intensity or --zone/--intensity-file")
        return ConstantIntensity(o.intensity, "declared on the command line").intensity()
    if o.intensity_file is not None:
        return FileIntensity(o.intensity_file).intensity(o.zone, when)
    if o.zone:
        return EmbeddedIntensity().intensity(o.zone, when)
    raise InputError("--zone", "give --intensity (gCO2e/kWh), --zone or --intensity-file")


def _embodied(o: FootprintOptions, window: EnergyWindow | None) -> EmbodiedShare | None:
    if not 0 < o.share <= 1:
        raise InputError("--share", f"must be in (0, 1], got {o.share}")
    if o.device is None and o.embodied_kg is None:
        if o.lifespan_years is not None or o.reserved_hours is not None:
            raise InputError("--embodied-kg", "needed with --lifespan-years/--reserved-hours "
                             "(or name a --device)")
        return None
    if o.device is not None and o.embodied_kg is not None:
        raise InputError("--device", "give either --device or --embodied-kg")
    if o.reserved_hours is not None:
        reserved = Factor(o.reserved_hours, "h", "declared on the command line", "declared")
    elif window is not None:
        reserved = Factor(window.duration_s, "s", f"duration of window {window.key!r}",
                          "measured")
    else:
        raise InputError("--reserved-hours", "is required with embodied inputs (or --window)")
    share = Factor(o.share, "ratio", "declared on the command line", "declared")
    whole = Factor(1, "ratio", "whole device", "declared")
    if o.device is not None:
        row = embodied_device(o.device)
        lifespan = row.lifespan if o.lifespan_years is None else Factor(
            o.lifespan_years, "years", "declared on the command line", "declared")
        return EmbodiedShare(row.total, lifespan, reserved, share, whole)
    if o.lifespan_years is None:
        raise InputError("--lifespan-years", "is required with --embodied-kg")
    assert o.embodied_kg is not None  # the device branch returned above
    return EmbodiedShare(
        Factor(o.embodied_kg, "kgCO2e", "declared on the command line", "declared"),
        Factor(o.lifespan_years, "years", "declared on the command line", "declared"),
        reserved, share, whole)


def build_footprint(o: FootprintOptions) -> Footprint:
    """The footprint for these options (the one code path behind both commands)."""
    energy, window = _energy(o)
    when = _parse_hour(o.hour) or (window.started_at if window is not None else None)
    pue = default_pue() if o.pue is None else site_pue(o.pue, "declared on the command line")
    market = None
    if (o.market_intensity is None) != (o.instrument is None):
        raise InputError("--instrument", "market-based needs both --market-intensity and "
                         "--instrument (the contractual instrument)")
    if o.market_intensity is not None and o.instrument is not None:
        market = MarketBased(o.instrument, Factor(o.market_intensity, "gCO2e/kWh",
                                                  o.instrument, "declared"))
    return compute_footprint(energy, _intensity(o, when), pue, _embodied(o, window), market)


def _options(f: Any) -> Any:
    opts = [
        click.option("--energy-j", type=float, help="IT energy in joules."),
        click.option("--energy-kwh", type=float, help="IT energy in kWh."),
        click.option("--window", type=click.Path(path_type=Path, dir_okay=False),
                     help="EnergyWindow JSON file (from xcr_py.meter)."),
        click.option("--intensity", type=float, help="Grid intensity, gCO2e/kWh (declared)."),
        click.option("--zone", help="Grid zone for the embedded data (e.g. DE, US-CAL-CISO)."),
        click.option("--intensity-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="Intensity file: Electricity Maps hourly CSV or JSON table."),
        click.option("--hour", help="UTC hour to price (ISO 8601); default: the window start."),
        click.option("--pue", type=float, help="Site PUE (default 1.56, Uptime Institute 2024)."),
        click.option("--device", help="Embodied table device class (A100, H100, L4, RTX4090...)."),
        click.option("--embodied-kg", type=float, help="Total embodied emissions TE, kgCO2e."),
        click.option("--lifespan-years", type=float, help="Expected lifespan EL, years."),
        click.option("--reserved-hours", type=float, help="Time reserved TiR, hours."),
        click.option("--share", type=float, default=1.0, show_default=True,
                     help="Resource share RR/ToR in (0, 1]."),
        click.option("--market-intensity", type=float,
                     help="Market-based intensity gCO2e/kWh (reported beside)."),
        click.option("--instrument", help="The contractual instrument behind --market-intensity."),
        click.option("--json", "as_json", is_flag=True, help="Emit JSON."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _g(mg: int) -> str:
    return f"{mg / 1000:.3f} gCO2e"


def register(cli: click.Group) -> None:
    """Add ``footprint`` and ``explain`` to the root group."""

    @cli.command("footprint")
    @_options
    def footprint_cmd(as_json: bool, **kwargs: Any) -> None:
        """SCI footprint of one asset from energy, intensity, PUE and embodied factors."""
        fp = build_footprint(FootprintOptions(**kwargs))
        if as_json:
            click.echo(json.dumps(fp.to_dict(), indent=2, sort_keys=True))
            return
        low, high = fp.interval_mg
        c = fp.onchain()
        table = Table(title="Footprint (SCI, location-based, per asset)", show_header=False)
        table.add_row("operational O", _g(fp.operational_mg))
        table.add_row("embodied M", _g(fp.embodied_mg))
        table.add_row("gross O + M", _g(fp.gross_mg))
        table.add_row("interval (worst case)", f"{low / 1000:.3f} .. {high / 1000:.3f} gCO2e")
        table.add_row("method", fp.method)
        table.add_row("intensity source", fp.intensity.source)
        table.add_row("on chain", f"energy_mj={c.energy_mj} intensity_mg_per_kwh="
                      f"{c.intensity_mg_per_kwh} pue_milli={c.pue_milli} "
                      f"embodied_mg={c.embodied_mg} gross_mg={c.gross_mg}")
        if fp.market_gross_mg is not None:
            table.add_row("market-based (beside)", _g(fp.market_gross_mg))
        Console().print(table)

    @cli.command("explain")
    @_options
    def explain_cmd(as_json: bool, **kwargs: Any) -> None:
        """Every step of the footprint calculation with numbers, units and sources."""
        fp = build_footprint(FootprintOptions(**kwargs))
        steps = explain(fp)
        if as_json:
            click.echo(json.dumps({"steps": [s.to_dict() for s in steps],
                                   "footprint": fp.to_dict()}, indent=2, sort_keys=True))
            return
        table = Table(title="How this footprint was calculated")
        for col in ("#", "step", "calculation", "result", "source / method"):
            table.add_column(col, overflow="fold")
        for i, s in enumerate(steps, start=1):
            provenance = " / ".join(x for x in (s.source, s.method) if x)
            table.add_row(str(i), s.name, s.formula, f"{s.value} {s.unit}", provenance)
        Console(width=160).print(table)
