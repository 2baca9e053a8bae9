"""Explain a footprint the way an auditor would redo it by hand: one step per operation.

``explain(footprint) -> list[ExplainStep]``; each step has the formula with the numbers put in,
the result with its unit, and the source and method of what went in. The CLI prints them
(``xcr explain``) or emits them as JSON; the receipt stage can append its own steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from xcr_py import units
from xcr_py.footprint.factor import Factor
from xcr_py.footprint.sci import ENERGY_UNITS_MJ, INTENSITY_UNITS_MG, Footprint

__all__ = ["ExplainStep", "explain"]


@dataclass(frozen=True)
class ExplainStep:
    """One step: ``name``, ``formula`` with numbers, ``value`` in ``unit``, provenance."""

    name: str
    formula: str
    value: Decimal
    unit: str
    source: str = ""
    method: str = ""
    interval: tuple[Decimal, Decimal] | None = None
    inputs: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (numbers as strings of exact decimals, so nothing is lost)."""
        out: dict[str, Any] = {"name": self.name, "formula": self.formula,
                               "value": str(self.value), "unit": self.unit}
        if self.source:
            out["source"] = self.source
        if self.method:
            out["method"] = self.method
        if self.interval is not None:
            out["interval"] = [str(self.interval[0]), str(self.interval[1])]
        if self.inputs:
            out["inputs"] = dict(self.inputs)
        return out


def _d(value: Fraction | Decimal | int, places: int = 9) -> Decimal:
    """A display decimal: exact when it has at most ``places`` decimals, else rounded to them."""
    if isinstance(value, Fraction):
        d = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        d = Decimal(value)
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        d = d.quantize(Decimal(1).scaleb(-places))
    text = format(d, "f")
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)


def _fmt(f: Factor) -> str:
    return f"{f.value} {f.unit}"


def _factor_step(name: str, symbol: str, f: Factor) -> ExplainStep:
    note = f" ({f.note})" if f.note else ""
    return ExplainStep(name, f"{symbol} = {_fmt(f)}{note}", f.value, f.unit, f.source, f.method,
                       (f.low, f.high))


def explain(footprint: Footprint) -> list[ExplainStep]:
    """Every step from factors to the on-chain integers, with numbers, units and sources."""
    fp = footprint
    steps: list[ExplainStep] = []
    e_kwh = Fraction(fp.energy.value) * ENERGY_UNITS_MJ[fp.energy.unit] / units.MJ_PER_KWH
    steps.append(ExplainStep(
        "IT energy", f"E_IT = {_fmt(fp.energy)} = {_d(e_kwh, 12)} kWh", _d(e_kwh, 12), "kWh",
        fp.energy.source, fp.energy.method, inputs={"energy": _fmt(fp.energy)}))
    steps.append(_factor_step("Power usage effectiveness", "PUE", fp.pue))
    facility = e_kwh * Fraction(fp.pue.value)
    steps.append(ExplainStep(
        "Facility energy", f"E = E_IT x PUE = {_d(e_kwh, 12)} kWh x {fp.pue.value} = "
        f"{_d(facility, 12)} kWh", _d(facility, 12), "kWh"))
    steps.append(_factor_step("Grid carbon intensity (location-based)", "I", fp.intensity))
    g_per_kwh = Fraction(fp.intensity.value) * INTENSITY_UNITS_MG[fp.intensity.unit] / 1000
    o = fp.operational_exact_g
    steps.append(ExplainStep(
        "Operational emissions", f"O = E x I = {_d(facility, 12)} kWh x {_d(g_per_kwh)} "
        f"gCO2e/kWh = {_d(o)} gCO2e", _d(o), "gCO2e"))
    if fp.embodied_share is not None:
        s = fp.embodied_share
        m = s.exact_g()
        steps.append(ExplainStep(
            "Embodied emissions", f"M = TE x (TiR/EL) x (RR/ToR) = {_fmt(s.total)} x "
            f"({_fmt(s.reserved)} / {_fmt(s.lifespan)}) x ({s.resources_reserved.value} / "
            f"{s.resources_total.value}) = {_d(m)} gCO2e", _d(m), "gCO2e", s.total.source,
            fp.embodied.method, (fp.embodied.low, fp.embodied.high),
            inputs={"TE": f"{_fmt(s.total)} [{s.total.source}]",
                    "TiR": f"{_fmt(s.reserved)} [{s.reserved.source}]",
                    "EL": f"{_fmt(s.lifespan)} [{s.lifespan.source}]",
                    "RR": f"{s.resources_reserved.value} {s.resources_reserved.unit}",
                    "ToR": f"{s.resources_total.value} {s.resources_total.unit}"}))
    else:
        steps.append(_factor_step("Embodied emissions", "M", fp.embodied))
    m_g = fp.embodied_share.exact_g() if fp.embodied_share else Fraction(fp.embodied.value)
    gross = o + m_g
    steps.append(ExplainStep(
        "Gross emissions per asset (SCI, R = 1 asset)", f"C = O + M = {_d(o)} + {_d(m_g)} = "
        f"{_d(gross)} gCO2e (offsets and removals never reduce it)", _d(gross), "gCO2e",
        method=fp.method))
    low, high = fp.interval_mg
    steps.append(ExplainStep(
        "Interval (worst case)", "C_low = E_low x PUE_low x I_low + M_low; C_high likewise with "
        f"the high ends (rounded outwards) = [{Decimal(low) / 1000}, {Decimal(high) / 1000}] "
        "gCO2e", Decimal(fp.gross_mg) / 1000, "gCO2e",
        interval=(Decimal(low) / 1000, Decimal(high) / 1000)))
    c = fp.onchain()
    steps.append(ExplainStep(
        "On-chain integers (xcr_py.units, rounded up)",
        f"gross_mg = ceil({c.energy_mj} mJ x {c.pue_milli} x {c.intensity_mg_per_kwh} mg/kWh / "
        f"({units.PUE_SCALE} x {units.MJ_PER_KWH})) + {c.embodied_mg} mg = {c.gross_mg} mg",
        Decimal(c.gross_mg), "mgCO2e",
        inputs={k: str(v) for k, v in c.to_dict().items()}))
    if fp.market is not None and fp.market_gross_mg is not None:
        steps.append(ExplainStep(
            "Market-based figure (beside, not instead)",
            f"C_market = E x I_market + M with I_market = {_fmt(fp.market.intensity)} from "
            f"{fp.market.instrument} = {Decimal(fp.market_gross_mg) / 1000} gCO2e",
            Decimal(fp.market_gross_mg) / 1000, "gCO2e", fp.market.intensity.source,
            fp.market.intensity.method))
    return steps
