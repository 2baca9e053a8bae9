"""``xcr schedule plan`` and ``xcr schedule backtest``: thin wrappers over the schedule stage."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from xcr_py.errors import InputError
from xcr_py.footprint.hourly import HourlySeries, embedded_zones, load_csv_dir, load_zone
from xcr_py.schedule import DEFAULT_Z, INTENSITY_BASIS, Plan, plan
from xcr_py.schedule.backtest import MODES, BacktestResult, JobMix, backtest_series
from xcr_py.schedule.jobsfile import load_jobs_file
from xcr_py.schedule.sources import FORECAST_KINDS, forecasts_from_series

__all__ = ["backtest_table_markdown", "plan_to_json", "register"]

HOUR = timedelta(hours=1)


def _q(
    value: float | int, unit: str, method: str, source: str, **extra: object
) -> dict[str, object]:
    """A number leaving the process: value with its unit, method and source."""
    return {"value": value, "unit": unit, "method": method, "source": source, **extra}


def _series_for(regions: set[str], data: Path | None) -> dict[str, HourlySeries]:
    if data is None:
        return {r: load_zone(r) for r in sorted(regions) if r in embedded_zones()}
    loaded = load_csv_dir(data)
    return {r: s for r, s in loaded.items() if r in regions}


def plan_to_json(result: Plan, forecast_kind: str) -> dict[str, object]:
    """The plan as JSON: every number with unit, method and source."""
    method = f"estimated ({forecast_kind} forecast x expected energy)"
    source = f"forecast of {INTENSITY_BASIS}"
    s = result.saving
    return {
        "start": result.start.isoformat(),
        "intensity_basis": result.intensity_basis,
        "error_model": result.error_model,
        "sources": result.sources,
        "assignments": [
            {
                "job": a.job_id,
                "region": a.region,
                "start": a.start.isoformat(),
                "end": a.end.isoformat(),
                "moved": a.moved,
                "pue": _q(a.pue_milli, "thousandths", "declared", "jobs file (default 1000)"),
                "forecast_intensity": _q(
                    a.forecast_intensity_mg_per_kwh,
                    "mg CO2e/kWh",
                    "estimated",
                    result.sources.get(a.region, ""),
                    hourly=list(a.hourly_forecast_mg_per_kwh),
                ),
                "expected_emissions": _q(a.expected_emissions_mg, "mg CO2e", method, source),
                "run_now": None
                if a.run_now_start is None
                else {
                    "region": a.run_now_region,
                    "start": a.run_now_start.isoformat(),
                    "expected_emissions": _q(
                        a.run_now_emissions_mg or 0, "mg CO2e", method, source
                    ),
                },
            }
            for a in result.assignments
        ],
        "infeasible": [{"job": i.job_id, "reason": i.reason} for i in result.infeasible],
        "saving_vs_run_now": _q(
            s.expected_mg,
            "mg CO2e",
            method,
            source,
            interval_95=[s.low_mg, s.high_mg],
            percent=round(s.percent, 3),
            run_now_mg=s.run_now_mg,
            planned_mg=s.planned_mg,
        ),
    }


def _print_plan(result: Plan, forecast_kind: str) -> None:
    console = Console(width=max(Console().width, 100))
    table = Table(title=f"Plan from {result.start:%Y-%m-%d %H:%M} UTC ({forecast_kind} forecast)")
    for column in (
        "job",
        "region",
        "start UTC",
        "h",
        "g/kWh",
        "exp. g",
        "run now UTC",
        "run-now g",
        "moved",
    ):
        table.add_column(
            column,
            justify="left" if column in ("job", "region", "run now UTC") else "right",
            no_wrap=column != "job",
        )
    for a in result.assignments:
        run_now = (
            f"{a.run_now_region} {a.run_now_start:%m-%d %H:%M}" if a.run_now_start else "(none)"
        )
        table.add_row(
            a.job_id,
            a.region,
            f"{a.start:%m-%d %H:%M}",
            str(a.duration_h),
            f"{a.forecast_intensity_mg_per_kwh / 1000:.1f}",
            f"{a.expected_emissions_mg / 1000:.1f}",
            run_now,
            f"{(a.run_now_emissions_mg or 0) / 1000:.1f}",
            "yes" if a.moved else "",
        )
    console.print(table)
    for item in result.infeasible:
        console.print(f"[bold red]infeasible[/] {item.job_id}: {item.reason}")
    s = result.saving
    console.print(
        f"Expected saving vs run-now: {s.expected_mg / 1000:.1f} g CO2e ({s.percent:.1f} %), "
        f"95 % interval [{s.low_mg / 1000:.1f}, {s.high_mg / 1000:.1f}] g; "
        f"run-now {s.run_now_mg / 1000:.1f} g, planned {s.planned_mg / 1000:.1f} g "
        "(estimated: forecast x expected energy)"
    )
    console.print(f"Intensity: {result.intensity_basis}")
    console.print(f"Error model: {result.error_model}")


def backtest_table_markdown(results: list[BacktestResult], mix: JobMix, sigma_pct: float) -> str:
    """The backtest as a Markdown table (realised savings versus run-now)."""
    lines = [
        "| zone | jobs | run-now kg | persistence saving | day-ahead saving "
        "| perfect-foresight bound |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        cells = [
            f"{r.saving_mg(m) / 1000:,.0f} g ({r.saving_percent(m):.1f} %)"
            for m in ("persistence", "day_ahead", "perfect")
        ]
        lines.append(
            f"| {r.zone} | {r.jobs} | {r.emissions_mg['run_now'] / 1e6:,.1f} | "
            + " | ".join(cells)
            + " |"
        )
    lines.append("")
    lines.append(
        f"Job mix: {mix.describe()}. Day-ahead noise sigma = {sigma_pct:g} % of the trailing "
        "28-day mean; persistence sigma = RMS same-hour-yesterday error over the trailing "
        "28 days. Savings are realised (charged the actual intensity of the hours chosen)."
    )
    return "\n".join(lines)


def _backtest_json(r: BacktestResult, sigma_pct: float) -> dict[str, object]:
    method = "dataset (realised intensity of the chosen hours)"
    return {
        "zone": r.zone,
        "name": r.name,
        "days": r.days,
        "jobs": r.jobs,
        "energy": _q(r.energy_mj, "mJ", "declared (job mix)", "backtest job mix"),
        "emissions": {m: _q(r.emissions_mg[m], "mg CO2e", method, r.source) for m in MODES},
        "saving_vs_run_now": {
            m: _q(
                r.saving_mg(m),
                "mg CO2e",
                method,
                r.source,
                percent=round(r.saving_percent(m), 3),
                moved_jobs=r.moved[m],
            )
            for m in MODES
            if m != "run_now"
        },
        "error_sigma": {
            "persistence": _q(
                round(r.sigma_mg_per_kwh["persistence"]),
                "mg CO2e/kWh",
                "estimated (RMS same-hour-yesterday error, trailing 28 days, mean)",
                r.source,
            ),
            "day_ahead": _q(
                round(r.sigma_mg_per_kwh["day_ahead"]),
                "mg CO2e/kWh",
                f"declared ({sigma_pct:g} % of trailing 28-day mean, mean)",
                r.source,
            ),
        },
    }


def register(cli: click.Group) -> None:
    """Add the ``schedule`` group to the root command."""

    @cli.group("schedule")
    def schedule() -> None:
        """Carbon-aware scheduling of deferrable renders."""

    @schedule.command("plan")
    @click.argument("jobs_file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option(
        "--region",
        "regions",
        multiple=True,
        help="Allowed region (repeatable); restricts every job to these.",
    )
    @click.option(
        "--forecast",
        "kind",
        type=click.Choice(FORECAST_KINDS),
        default="persistence",
        show_default=True,
        help="Forecast built from the hourly data at 'now'.",
    )
    @click.option(
        "--data",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="Directory of *_hourly.csv files instead of the embedded 2024 data.",
    )
    @click.option(
        "--sigma-pct",
        default=10.0,
        show_default=True,
        help="Day-ahead noise sigma, % of the trailing 28-day mean.",
    )
    @click.option(
        "--z",
        default=DEFAULT_Z,
        show_default=True,
        help="Move only when the expected saving exceeds z sigmas of forecast error.",
    )
    @click.option("--seed", default=0, show_default=True, help="Seed of the day-ahead noise.")
    @click.option(
        "--method",
        type=click.Choice(["greedy", "exact"]),
        default="greedy",
        show_default=True,
        help="exact: optimal min-cost assignment, single-hour single-GPU jobs only.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Emit JSON.")
    def plan_command(
        jobs_file: Path,
        regions: tuple[str, ...],
        kind: str,
        data: Path | None,
        sigma_pct: float,
        z: float,
        seed: int,
        method: str,
        as_json: bool,
    ) -> None:
        """Plan JOBS_FILE and show the expected saving versus running everything now."""
        spec = load_jobs_file(jobs_file, tuple(regions))
        wanted = {r for j in spec.jobs for r in j.regions}
        if regions:
            # Forecasts only for the allowed regions: a job left with none is reported
            # infeasible ("no forecast for any allowed region"), never dropped.
            wanted &= set(regions)
        series = _series_for(wanted, data)
        if not series:
            listed = ", ".join(sorted(wanted)) or "(none of the jobs' regions passes --region)"
            raise InputError("regions", f"no hourly data for any of {listed}")
        now = spec.now or min(j.earliest for j in spec.jobs)
        until = max(j.deadline for j in spec.jobs) + HOUR
        forecasts = forecasts_from_series(series, now, until, kind, sigma_pct=sigma_pct, seed=seed)
        result = plan(
            spec.jobs,
            spec.capacity,
            forecasts,
            now=now,
            pue_milli=spec.pue_milli,
            z=z,
            method=method,
        )
        if as_json:
            click.echo(json.dumps(plan_to_json(result, kind), indent=2))
        else:
            _print_plan(result, kind)

    @schedule.command("backtest")
    @click.option(
        "--data",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        help="Directory of *_hourly.csv files instead of the embedded 2024 data.",
    )
    @click.option("--zones", default="", help="Comma-separated zones (default: all available).")
    @click.option(
        "--days",
        type=click.IntRange(min=1),
        default=None,
        help="Replay at most this many days per zone (default: the whole series).",
    )
    @click.option(
        "--sigma-pct",
        default=10.0,
        show_default=True,
        help="Day-ahead noise sigma, % of the trailing 28-day mean.",
    )
    @click.option("--z", default=DEFAULT_Z, show_default=True, help="Move threshold in sigmas.")
    @click.option("--seed", default=0, show_default=True, help="Seed of the day-ahead noise.")
    @click.option("--json", "as_json", is_flag=True, help="Emit JSON.")
    @click.option("--markdown", is_flag=True, help="Emit the Markdown table of docs/scheduling.md.")
    def backtest_command(
        data: Path | None,
        zones: str,
        days: int | None,
        sigma_pct: float,
        z: float,
        seed: int,
        as_json: bool,
        markdown: bool,
    ) -> None:
        """Replay hourly history with realistic forecast error; realised savings per zone."""
        available = load_csv_dir(data) if data else None
        names = sorted(available) if available else list(embedded_zones())
        chosen = [z_.strip() for z_ in zones.split(",") if z_.strip()] or names
        unknown = [c for c in chosen if c not in names]
        if unknown:
            raise InputError(
                "zones", f"no hourly data for {', '.join(unknown)}; known: {', '.join(names)}"
            )
        mix = JobMix()
        results = [
            backtest_series(
                available[c] if available else load_zone(c),
                days=days,
                sigma_pct=sigma_pct,
                seed=seed,
                mix=mix,
                z=z,
            )
            for c in chosen
        ]
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "job_mix": mix.describe(),
                        "z": z,
                        "intensity_basis": INTENSITY_BASIS,
                        "zones": [_backtest_json(r, sigma_pct) for r in results],
                    },
                    indent=2,
                )
            )
            return
        if markdown:
            click.echo(backtest_table_markdown(results, mix, sigma_pct))
            return
        table = Table(
            title="Backtest: realised saving vs run-now (actual intensity of chosen hours)"
        )
        for column in ("zone", "days", "run-now kg", "persistence", "day-ahead", "perfect bound"):
            table.add_column(column, justify="left" if column == "zone" else "right")
        for r in results:
            table.add_row(
                r.zone,
                str(r.days),
                f"{r.emissions_mg['run_now'] / 1e6:,.1f}",
                *(
                    f"{r.saving_mg(m) / 1000:,.0f} g ({r.saving_percent(m):.1f} %)"
                    for m in ("persistence", "day_ahead", "perfect")
                ),
            )
        console = Console()
        console.print(table)
        console.print(f"Job mix: {mix.describe()}")
        console.print(
            f"Intensity: {INTENSITY_BASIS}; day-ahead sigma {sigma_pct:g} % of the "
            "trailing 28-day mean; persistence sigma from the trailing 28 days."
        )
