"""What the badge says, shared by the SVG and PNG renderers.

Wording rules:

* Every figure carries its unit (mg/g/kg/t CO2e) and no more precision than its method
  supports: 3 significant figures for measured energy, 2 for estimates, which are also marked
  ``~`` and ``(estimated)``. The removal is shown to the same precision as the gross figure.
* Rounding is conservative: emissions round up, removals round down, so the badge can
  understate the removal or overstate the emissions, never the reverse.
* "Carbon neutral" appears only when the removal covers the gross emissions (exact integers,
  not the rounded figures) and the retirement is final (:attr:`ImpactLabel.carbon_neutral`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from typing import Literal

from xcr_py.receipt.label import ImpactLabel

__all__ = ["BadgeText", "badge_text", "format_mass_mg", "short_cid", "significant_figures"]

_UNITS = ((10**9, "t"), (10**6, "kg"), (10**3, "g"), (1, "mg"))
_METHOD_NOTE = {
    "measured": "measured",
    "estimated": "estimated",
    "estimated (published benchmark)": "estimated from a published benchmark",
}


def significant_figures(label: ImpactLabel) -> int:
    """Precision the label's method supports: 3 for measured energy, 2 for estimates."""
    return 2 if label.is_estimate else 3


def format_mass_mg(mass_mg: int, sig: int, rounding: Literal["up", "down"]) -> str:
    """``mass_mg`` as text with a mass unit (callers add "CO2e"): ``1100, 2, "up"`` -> ``1.1 g``.

    Rounds to ``sig`` significant figures in the given direction, then picks the unit that
    keeps the number in [1, 1000) (trailing zeros kept: they state the precision).
    """
    if mass_mg < 0 or sig < 1:
        raise ValueError("format_mass_mg needs mass_mg >= 0 and sig >= 1")
    if mass_mg == 0:
        return "0 g"
    with localcontext() as ctx:
        ctx.prec = 100  # masses reach 2**256 mg; never let the context round them
        value = Decimal(mass_mg)
        step = Decimal(1).scaleb(value.adjusted() - sig + 1)
        mode = ROUND_CEILING if rounding == "up" else ROUND_FLOOR
        rounded = (value / step).to_integral_value(rounding=mode) * step
        scale, unit = next((s, u) for s, u in _UNITS if rounded >= s)
        number = rounded / scale
        places = max(sig - 1 - number.adjusted(), 0)
        return f"{number:.{places}f} {unit}"


def short_cid(cid: str, head: int = 10, tail: int = 6) -> str:
    """``bafkreibnoelefnzg…gsiqe``-style abbreviation for small images (full CID elsewhere)."""
    return cid if len(cid) <= head + tail + 1 else f"{cid[:head]}…{cid[-tail:]}"


def _years(years: int) -> str:
    return f"{years:,}+ years" if years != 1 else "1+ year"


@dataclass(frozen=True)
class BadgeText:
    """The badge's lines, its full one-line statement and its accessible title."""

    headline: str
    figures: str
    removal: str
    verify: str
    title: str
    carbon_neutral: bool
    status: Literal["neutral", "pending", "partial"]

    @property
    def lines(self) -> tuple[str, str, str, str]:
        """The four lines drawn on the badge, top to bottom."""
        return (self.headline, self.figures, self.removal, self.verify)

    @property
    def one_line(self) -> str:
        """``Removed … for … emitted · biochar, 100+ years · verify: ipfs://…`` (short CID)."""
        return " · ".join((self.figures, self.removal, self.verify))


def badge_text(label: ImpactLabel) -> BadgeText:
    """Compose the badge wording for ``label`` (see the module docstring for the rules)."""
    sig = significant_figures(label)
    gross = format_mass_mg(label.gross_mg, sig, "up")
    removed = format_mass_mg(label.removed_mg, sig, "down")
    approx = "~" if label.is_estimate else ""
    figures = f"Removed {removed} CO2e for {approx}{gross} emitted ({_METHOD_NOTE[label.method]})"
    ratio = format(label.ratio.normalize(), "f")
    removal = (
        f"{label.removal_method}, {_years(label.permanence_years)} · ratio {ratio}x · "
        f"retirement {label.retirement_status}"
    )
    verify = f"verify: ipfs://{short_cid(label.receipt_cid)}"

    if label.carbon_neutral:
        status: Literal["neutral", "pending", "partial"] = "neutral"
        headline = "Carbon neutral · removal retired, final"
    elif label.removed_mg < label.gross_mg:
        status = "partial"
        share = label.removed_mg * 100 // label.gross_mg  # floor: never overstate coverage
        headline = f"Carbon removal receipt · covers {share}% of emissions"
    else:  # covered but not final (covered and final is carbon_neutral)
        status = "pending"
        headline = "Carbon removal receipt · retirement pending"
    title = (
        f"{headline}. {figures}; {label.removal_method}, {_years(label.permanence_years)}, "
        f"ratio {ratio}x, retirement {label.retirement_status}. Receipt ipfs://"
        f"{label.receipt_cid}, token {label.token_id} of contract {label.receipt_contract} "
        f"on chain {label.chain_id}."
    )
    return BadgeText(
        headline=headline,
        figures=figures,
        removal=removal,
        verify=verify,
        title=title,
        carbon_neutral=label.carbon_neutral,
        status=status,
    )
