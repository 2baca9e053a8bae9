"""The SCI calculation (Green Software Foundation, ISO/IEC 21031:2024) for one asset.

``SCI = (O + M) per R`` with R = one asset (split a batch window first, see
:func:`xcr_py.meter.split_batch`):

* operational ``O = E x I``, where E is facility energy: IT energy x PUE;
* embodied ``M = TE x (TiR / EL) x (RR / ToR)``.

Offsets and removals never reduce this gross figure. The on-chain integers come from
:mod:`xcr_py.units` (the single statement of what the contract recomputes); this module only
converts factors to those units and calls it.

Intervals are worst-case bounds (interval arithmetic): every factor is positive and the result
increases with E, I, PUE, TE, TiR and RR and decreases with EL and ToR, so the bounds are the
formula at the matching ends of each factor's interval, rounded outwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from xcr_py import units
from xcr_py.errors import InputError
from xcr_py.footprint.factor import Factor, FactorMethod, ceil_scaled, floor_scaled

__all__ = [
    "EmbodiedShare",
    "Footprint",
    "MarketBased",
    "OnchainFootprint",
    "compute_footprint",
    "energy_factor_from_window",
]

ENERGY_UNITS_MJ = {"mJ": 1, "J": 1_000, "kJ": 1_000_000, "Wh": 3_600_000, "kWh": 3_600_000_000}
INTENSITY_UNITS_MG = {"gCO2e/kWh": 1_000, "mgCO2e/kWh": 1, "kgCO2e/MWh": 1_000}
MASS_UNITS_MG = {"mgCO2e": 1, "gCO2e": 1_000, "kgCO2e": 1_000_000, "tCO2e": 1_000_000_000}
TIME_UNITS_S = {"s": 1, "h": 3_600, "years": 365 * 24 * 3_600}


def _scale(factor: Factor, table: dict[str, int], field: str) -> int:
    try:
        return table[factor.unit]
    except KeyError:
        raise InputError(f"{field}.unit", f"must be one of {sorted(table)}, "
                         f"got {factor.unit!r}") from None


def _frac(value: Decimal) -> Fraction:
    return Fraction(value)


@dataclass(frozen=True)
class EmbodiedShare:
    """The SCI embodied inputs. ``M = TE x (TiR / EL) x (RR / ToR)``.

    Args:
        total: TE, total embodied emissions of the hardware (mass unit, e.g. ``kgCO2e``).
        lifespan: EL, expected lifespan (time unit: ``h``, ``s`` or ``years``).
        reserved: TiR, time reserved for this asset (time unit).
        resources_reserved: RR, e.g. GPUs used (``ratio`` or a count).
        resources_total: ToR, e.g. GPUs in the server (same unit as RR).
    """

    total: Factor
    lifespan: Factor
    reserved: Factor
    resources_reserved: Factor
    resources_total: Factor

    def __post_init__(self) -> None:
        _scale(self.total, MASS_UNITS_MG, "embodied.total")
        for name in ("lifespan", "reserved"):
            _scale(getattr(self, name), TIME_UNITS_S, f"embodied.{name}")
        if self.lifespan.low <= 0:
            raise InputError("embodied.lifespan", "must be > 0 (its lower bound too)")
        if self.resources_total.low <= 0:
            raise InputError("embodied.resources_total", "must be > 0 (its lower bound too)")
        if self.resources_reserved.unit != self.resources_total.unit:
            raise InputError("embodied.resources_reserved", "must have the unit of "
                             f"resources_total ({self.resources_total.unit!r})")
        if self.resources_reserved.value > self.resources_total.value:
            raise InputError("embodied.resources_reserved", "must be <= resources_total")

    def _mg(self, pick: str) -> Fraction:
        """M in mg at one end: ``"value"``, ``"low"`` or ``"high"`` (exact)."""
        def get(f: Factor, end: str) -> Fraction:
            return _frac(getattr(f, end))

        flip = {"value": "value", "low": "high", "high": "low"}[pick]
        te = get(self.total, pick) * _scale(self.total, MASS_UNITS_MG, "embodied.total")
        tir = get(self.reserved, pick) * _scale(self.reserved, TIME_UNITS_S, "embodied.reserved")
        el = get(self.lifespan, flip) * _scale(self.lifespan, TIME_UNITS_S, "embodied.lifespan")
        rr = get(self.resources_reserved, pick)
        tor = get(self.resources_total, flip)
        return te * tir / el * rr / tor

    def exact_g(self) -> Fraction:
        """M in grams, exact (no rounding)."""
        return self._mg("value") / 1000

    def factor(self) -> Factor:
        """M as a factor in gCO2e, interval from the inputs' intervals."""
        methods = {f.method for f in (self.total, self.lifespan, self.reserved,
                                      self.resources_reserved, self.resources_total)}
        method: FactorMethod = "estimated" if "estimated" in methods else (
            "dataset" if "dataset" in methods else "declared")
        value = Decimal(ceil_scaled(self._mg("value"), 1)) / 1000
        return Factor(value, "gCO2e", f"SCI M = TE x (TiR/EL) x (RR/ToR); TE: {self.total.source}",
                      method, (Decimal(floor_scaled(self._mg("low"), 1)) / 1000,
                               Decimal(ceil_scaled(self._mg("high"), 1)) / 1000))


@dataclass(frozen=True)
class MarketBased:
    """A declared contractual instrument (PPA, EAC, REC) and the intensity it implies.

    Reported beside the location-based figure, never instead of it (SCI excludes
    market-based measures from the score).
    """

    instrument: str
    intensity: Factor

    def __post_init__(self) -> None:
        if not self.instrument.strip():
            raise InputError("market.instrument", "must name the contractual instrument")
        _scale(self.intensity, INTENSITY_UNITS_MG, "market.intensity")


@dataclass(frozen=True)
class OnchainFootprint:
    """The exact integers the XCR controller contract recomputes."""

    energy_mj: int
    intensity_mg_per_kwh: int
    pue_milli: int
    embodied_mg: int
    gross_mg: int

    def to_dict(self) -> dict[str, int]:
        """JSON-ready; the units are in the keys."""
        return {"energy_mj": self.energy_mj, "intensity_mg_per_kwh": self.intensity_mg_per_kwh,
                "pue_milli": self.pue_milli, "embodied_mg": self.embodied_mg,
                "gross_mg": self.gross_mg}


@dataclass(frozen=True)
class Footprint:
    """The location-based SCI footprint of one asset, with its factors.

    Build it with :func:`compute_footprint`.
    """

    energy: Factor
    intensity: Factor
    pue: Factor
    embodied: Factor
    embodied_share: EmbodiedShare | None = None
    market: MarketBased | None = None

    def __post_init__(self) -> None:
        _scale(self.energy, ENERGY_UNITS_MJ, "energy")
        _scale(self.intensity, INTENSITY_UNITS_MG, "intensity")
        _scale(self.embodied, MASS_UNITS_MG, "embodied")
        if self.pue.unit != "ratio":
            raise InputError("pue.unit", f"must be 'ratio', got {self.pue.unit!r}")
        if self.pue.low < 1:
            raise InputError("pue", f"must be >= 1.0 (its lower bound too), got {self.pue.low}")

    # --- integer units -----------------------------------------------------------------
    def _energy_mj(self, end: str) -> int:
        scale = ENERGY_UNITS_MJ[self.energy.unit]
        v = getattr(self.energy, end)
        return floor_scaled(v, scale) if end == "low" else ceil_scaled(v, scale)

    def _intensity_mg(self, f: Factor, end: str) -> int:
        scale = INTENSITY_UNITS_MG[f.unit]
        v = getattr(f, end)
        return floor_scaled(v, scale) if end == "low" else ceil_scaled(v, scale)

    def _pue_milli(self, end: str) -> int:
        v = getattr(self.pue, end)
        return floor_scaled(v, units.PUE_SCALE) if end == "low" else ceil_scaled(v, units.PUE_SCALE)

    def _embodied_mg(self, end: str) -> int:
        scale = MASS_UNITS_MG[self.embodied.unit]
        v = getattr(self.embodied, end)
        return floor_scaled(v, scale) if end == "low" else ceil_scaled(v, scale)

    def onchain(self) -> OnchainFootprint:
        """The integers for the chain, computed with :mod:`xcr_py.units` (rounded up)."""
        e, i, p, m = (self._energy_mj("value"), self._intensity_mg(self.intensity, "value"),
                      self._pue_milli("value"), self._embodied_mg("value"))
        return OnchainFootprint(e, i, p, m, units.gross_emissions_mg(e, i, p, m))

    # --- results -----------------------------------------------------------------------
    @property
    def operational_mg(self) -> int:
        """O = E x PUE x I, rounded up. Units: mg CO2e."""
        c = self.onchain()
        return units.operational_emissions_mg(c.energy_mj, c.intensity_mg_per_kwh, c.pue_milli)

    @property
    def embodied_mg(self) -> int:
        """M, rounded up. Units: mg CO2e."""
        return self.onchain().embodied_mg

    @property
    def gross_mg(self) -> int:
        """O + M, what removal must cover. Units: mg CO2e."""
        return self.onchain().gross_mg

    def _operational_bounds_mg(self) -> tuple[int, int]:
        low = (self._energy_mj("low") * self._pue_milli("low")
               * self._intensity_mg(self.intensity, "low")) // (units.PUE_SCALE * units.MJ_PER_KWH)
        high = units.operational_emissions_mg(
            self._energy_mj("high"), self._intensity_mg(self.intensity, "high"),
            self._pue_milli("high"))
        return low, high

    @property
    def interval_mg(self) -> tuple[int, int]:
        """Worst-case ``(low, high)`` of the gross emissions. Units: mg CO2e."""
        low_o, high_o = self._operational_bounds_mg()
        return low_o + self._embodied_mg("low"), high_o + self._embodied_mg("high")

    @property
    def operational(self) -> Factor:
        """O as a factor in gCO2e (rounded up to 1 mg), with its worst-case interval."""
        low, high = self._operational_bounds_mg()
        return Factor(Decimal(self.operational_mg) / 1000, "gCO2e",
                      "SCI O = E x PUE x I (xcr_py.units)", self.method,
                      (Decimal(low) / 1000, Decimal(high) / 1000))

    @property
    def gross(self) -> Factor:
        """O + M as a factor in gCO2e (rounded up to 1 mg), with its worst-case interval."""
        low, high = self.interval_mg
        return Factor(Decimal(self.gross_mg) / 1000, "gCO2e",
                      "SCI C = O + M per asset (xcr_py.units)", self.method,
                      (Decimal(low) / 1000, Decimal(high) / 1000))

    @property
    def operational_exact_g(self) -> Fraction:
        """O in grams without any rounding (for explanation and tests)."""
        kwh = _frac(self.energy.value) * ENERGY_UNITS_MJ[self.energy.unit] / units.MJ_PER_KWH
        g_per_kwh = _frac(self.intensity.value) * INTENSITY_UNITS_MG[self.intensity.unit] / 1000
        return kwh * _frac(self.pue.value) * g_per_kwh

    @property
    def method(self) -> FactorMethod:
        """``estimated`` if any factor is; else ``measured`` if the energy is; else ``declared``."""
        factors = (self.energy, self.intensity, self.pue, self.embodied)
        if any(f.method == "estimated" for f in factors):
            return "estimated"
        return "measured" if self.energy.method == "measured" else "declared"

    @property
    def market_gross_mg(self) -> int | None:
        """Market-based gross beside the location-based one (only with a declared instrument)."""
        if self.market is None:
            return None
        c = self.onchain()
        mi = self._intensity_mg(self.market.intensity, "value")
        return units.gross_emissions_mg(c.energy_mj, mi, c.pue_milli, c.embodied_mg)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: factors, results with units, and the on-chain integers."""
        low, high = self.interval_mg
        out: dict[str, Any] = {
            "basis": "location-based",
            "standard": "SCI (ISO/IEC 21031:2024), R = one asset",
            "method": self.method,
            "factors": {"energy": self.energy.to_dict(), "intensity": self.intensity.to_dict(),
                        "pue": self.pue.to_dict(), "embodied": self.embodied.to_dict()},
            "emissions": {"operational_mg": self.operational_mg,
                          "embodied_mg": self.embodied_mg, "gross_mg": self.gross_mg,
                          "interval_mg": [low, high], "unit": "mgCO2e"},
            "onchain": self.onchain().to_dict(),
        }
        if self.market is not None:
            out["market_based"] = {"instrument": self.market.instrument,
                                   "intensity": self.market.intensity.to_dict(),
                                   "gross_mg": self.market_gross_mg,
                                   "note": "reported beside; does not reduce the gross figure"}
        return out


def compute_footprint(energy: Factor, intensity: Factor, pue: Factor,
                      embodied: EmbodiedShare | Factor | None = None,
                      market: MarketBased | None = None) -> Footprint:
    """Compute the SCI footprint of one asset.

    Args:
        energy: IT energy of the asset (``J``, ``kWh``...), e.g. from
            :func:`energy_factor_from_window`.
        intensity: location-based grid intensity (``gCO2e/kWh``) from a provider.
        pue: facility overhead (``ratio`` >= 1), e.g. ``default_pue()``.
        embodied: the SCI embodied inputs, a ready M factor (``gCO2e``), or ``None`` to exclude
            embodied emissions (shown as a declared 0 so the exclusion is visible).
        market: a declared contractual instrument, reported beside the location-based figure.
    """
    share: EmbodiedShare | None = None
    if isinstance(embodied, EmbodiedShare):
        share, m = embodied, embodied.factor()
    elif isinstance(embodied, Factor):
        m = embodied
    else:
        m = Factor(0, "gCO2e", "not included: no embodied data declared", "declared")
    return Footprint(energy, intensity, pue, m, share, market)


def energy_factor_from_window(window: Any) -> Factor:
    """The energy factor of an :class:`~xcr_py.meter.EnergyWindow` (exact mJ, its interval)."""
    devices = ", ".join(f"{d.device}:{d.source}" for d in window.devices)
    method: FactorMethod = "measured" if window.method == "measured" else "estimated"
    return Factor(Decimal(window.energy_mj) / 1000, "J", f"xcr meter window {window.key!r} "
                  f"({devices})", method,
                  (Decimal(window.low_mj) / 1000, Decimal(window.high_mj) / 1000))
