"""Fixed-unit integer arithmetic shared by the footprint, the receipt and the contracts.

This module is the single Python statement of the numbers the XCR controller contract
recomputes on chain. Any change here must be mirrored in ``contracts/XcrController.sol``
(function ``_grossEmissionsMg``) and is pinned by tests that compare both.

Units on chain (all unsigned integers):

* energy: millijoules (mJ) of IT energy, as metered
* grid intensity: milligrams CO2e per kilowatt-hour (mg/kWh)
* PUE: thousandths (1.56 -> 1560), never below 1000
* embodied share for the functional unit: milligrams CO2e (mg)
* emissions and removals: milligrams CO2e (mg); removal-credit inventory in whole grams
* carbon-to-removal ratio: basis points, 10_000 = 1.0, never below 10_000

Rounding is always upward, so integer rounding can only over-state emissions and
over-retire removals, never the reverse.
"""

from __future__ import annotations

__all__ = [
    "MIN_RATIO_BPS",
    "MJ_PER_KWH",
    "PUE_SCALE",
    "ceil_div",
    "grams_to_retire",
    "gross_emissions_mg",
    "operational_emissions_mg",
    "required_removal_mg",
]

MJ_PER_KWH = 3_600_000_000
"""Millijoules in one kilowatt-hour (3.6 MJ = 3.6e9 mJ)."""

PUE_SCALE = 1_000
"""PUE is carried in thousandths."""

MIN_RATIO_BPS = 10_000
"""The carbon-to-removal ratio never goes below 1.0 (10,000 basis points)."""


def ceil_div(numerator: int, denominator: int) -> int:
    """Integer division rounding up, for non-negative numerator and positive denominator."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("ceil_div needs numerator >= 0 and denominator > 0")
    return -(-numerator // denominator)


def operational_emissions_mg(energy_mj: int, intensity_mg_per_kwh: int, pue_milli: int) -> int:
    """Operational emissions O = E x PUE x I in mg CO2e, rounded up.

    ``energy_mj`` is IT energy in millijoules; facility energy is ``energy_mj x pue_milli / 1000``.
    """
    return ceil_div(energy_mj * pue_milli * intensity_mg_per_kwh, PUE_SCALE * MJ_PER_KWH)


def gross_emissions_mg(
    energy_mj: int, intensity_mg_per_kwh: int, pue_milli: int, embodied_mg: int
) -> int:
    """Gross emissions (SCI numerator for one asset) in mg CO2e: operational + embodied."""
    return operational_emissions_mg(energy_mj, intensity_mg_per_kwh, pue_milli) + embodied_mg


def required_removal_mg(gross_mg: int, ratio_bps: int) -> int:
    """Removal owed for ``gross_mg`` at ``ratio_bps`` (10,000 = 1.0), rounded up."""
    return ceil_div(gross_mg * ratio_bps, 10_000)


def grams_to_retire(required_mg: int) -> int:
    """Whole grams of removal credits that cover ``required_mg``, rounded up."""
    return ceil_div(required_mg, 1_000)
