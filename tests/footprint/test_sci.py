"""SCI math: the specification's worked example, exact on-chain integers, properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcr_py import units
from xcr_py.errors import InputError
from xcr_py.footprint import (
    EmbodiedShare,
    Factor,
    MarketBased,
    compute_footprint,
    default_pue,
    explain,
)


def declared(value, unit, interval=None):
    return Factor(value, unit, "test input", "declared", interval)


def spec_example_share() -> EmbodiedShare:
    # SCI specification, "Embodied emissions": a device with 1000 kg embodied carbon, an expected
    # lifespan of four years, reserved for one hour: 1000 * 1/(4*365*24), "around 28g".
    return EmbodiedShare(total=declared(1000, "kgCO2e"), lifespan=declared(4, "years"),
                         reserved=declared(1, "h"), resources_reserved=declared(1, "count"),
                         resources_total=declared(1, "count"))


def test_sci_spec_embodied_example_exactly():
    share = spec_example_share()
    assert share.exact_g() == Fraction(1000 * 1000, 4 * 365 * 24)  # grams, exact
    assert round(float(share.exact_g()), 1) == 28.5  # "around 28g" in the spec's words
    fp = compute_footprint(declared(0, "kWh"), declared(0, "gCO2e/kWh"), declared(1, "ratio"),
                           share)
    assert fp.onchain().embodied_mg == 28_539  # 28,538.8 mg rounded up
    assert fp.gross_mg == 28_539


def test_sci_resource_share_and_time_units_agree():
    # Same share expressed in seconds and hours, and half of a 2-resource device.
    by_seconds = EmbodiedShare(declared(1000, "kgCO2e"), declared(35_040, "h"),
                               declared(7_200, "s"), declared(1, "count"), declared(2, "count"))
    assert by_seconds.exact_g() == spec_example_share().exact_g()


def test_operational_and_onchain_integers_come_from_units():
    fp = compute_footprint(declared(1, "kWh"), declared(100, "gCO2e/kWh"), declared(1.5, "ratio"))
    assert fp.operational_exact_g == 150  # O = E x PUE x I = 1 kWh x 1.5 x 100 g/kWh
    c = fp.onchain()
    assert (c.energy_mj, c.intensity_mg_per_kwh, c.pue_milli) == (3_600_000_000, 100_000, 1_500)
    assert c.gross_mg == units.gross_emissions_mg(c.energy_mj, c.intensity_mg_per_kwh,
                                                  c.pue_milli, c.embodied_mg) == 150_000
    assert fp.embodied.value == 0 and "not included" in fp.embodied.source


def test_float_inputs_do_not_round_up_spuriously():
    fp = compute_footprint(declared(0.3, "J"), declared(412.7, "gCO2e/kWh"),
                           declared(1.56, "ratio"))
    c = fp.onchain()
    assert (c.energy_mj, c.intensity_mg_per_kwh, c.pue_milli) == (300, 412_700, 1_560)


def test_market_based_is_beside_never_instead():
    market = MarketBased("PPA with Windpark Nord, 2024 (declared)",
                         Factor(20, "gCO2e/kWh", "PPA contract", "declared"))
    base = compute_footprint(declared(1, "kWh"), declared(300, "gCO2e/kWh"), default_pue())
    fp = compute_footprint(declared(1, "kWh"), declared(300, "gCO2e/kWh"), default_pue(),
                           market=market)
    assert fp.gross_mg == base.gross_mg  # location-based gross untouched
    assert fp.market_gross_mg is not None and fp.market_gross_mg < fp.gross_mg
    assert fp.to_dict()["market_based"]["instrument"].startswith("PPA")
    assert "Market-based" in explain(fp)[-1].name
    with pytest.raises(InputError, match=r"market\.instrument"):
        MarketBased("  ", Factor(20, "gCO2e/kWh", "x", "declared"))


@pytest.mark.parametrize("build, field", [
    (lambda: declared(-1, "J"), r"factor\.value"),
    (lambda: Factor(1, "J", "", "declared"), r"factor\.source"),
    (lambda: Factor(1, "J", "x", "guessed"), r"factor\.method"),
    (lambda: declared(5, "J", (6, 7)), r"factor\.interval"),
    (lambda: declared("abc", "J"), r"factor\.value"),
    (lambda: compute_footprint(declared(1, "J"), declared(1, "gCO2e/kWh"),
                               declared(0.9, "ratio")), "pue"),
    (lambda: compute_footprint(declared(1, "furlongs"), declared(1, "gCO2e/kWh"),
                               declared(1.1, "ratio")), r"energy\.unit"),
    (lambda: EmbodiedShare(declared(1, "kgCO2e"), declared(0, "h"), declared(1, "h"),
                           declared(1, "count"), declared(1, "count")), r"embodied\.lifespan"),
    (lambda: EmbodiedShare(declared(1, "kgCO2e"), declared(10, "h"), declared(1, "h"),
                           declared(3, "count"), declared(2, "count")),
     r"embodied\.resources_reserved"),
])
def test_bad_factors_name_the_field(build, field):
    with pytest.raises(InputError, match=field):
        build()


def test_explain_steps_cover_the_calculation():
    fp = compute_footprint(declared(3600, "J"), declared(250, "gCO2e/kWh"), default_pue(),
                           spec_example_share())
    steps = explain(fp)
    names = [s.name for s in steps]
    assert names[0] == "IT energy" and "On-chain" in names[-1]
    assert any("Embodied" in n for n in names)
    by_name = {s.name: s for s in steps}
    assert by_name["IT energy"].value == Decimal("0.001")
    assert by_name["Facility energy"].value == Decimal("0.00156")
    assert by_name["Operational emissions"].value == Decimal("0.39")
    assert str(fp.gross_mg) in steps[-1].formula
    assert all(s.to_dict()["unit"] for s in steps)
    assert "Uptime Institute" in by_name["Power usage effectiveness"].source


# --- properties -------------------------------------------------------------------------
positive = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=3)


@given(st.integers(0, 10**15))
def test_millijoules_round_trip_through_joules(mj):
    fp = compute_footprint(Factor(Decimal(mj) / 1000, "J", "t", "measured"),
                           declared(1, "gCO2e/kWh"), declared(1, "ratio"))
    assert fp.onchain().energy_mj == mj


@given(positive, st.sampled_from(["mJ", "J", "kJ", "Wh", "kWh"]))
def test_energy_unit_conversion_is_exact_and_rounds_up(value, unit):
    scale = {"mJ": 1, "J": 1000, "kJ": 10**6, "Wh": 3_600_000, "kWh": 3_600_000_000}[unit]
    fp = compute_footprint(declared(value, unit), declared(1, "gCO2e/kWh"), declared(1, "ratio"))
    exact = Fraction(value) * scale
    assert fp.onchain().energy_mj - 1 < exact <= fp.onchain().energy_mj


@settings(max_examples=60)
@given(positive, positive, st.decimals(min_value=1, max_value=3, places=3), positive,
       st.sampled_from(["energy", "intensity", "pue", "te", "tir", "el"]))
def test_gross_is_monotone_in_each_factor(e, i, pue, te, which):
    def gross(**bump):
        share = EmbodiedShare(declared(te + bump.get("te", 0), "kgCO2e"),
                              declared(1000 + bump.get("el", 0), "h"),
                              declared(1 + bump.get("tir", 0), "h"),
                              declared(1, "count"), declared(8, "count"))
        return compute_footprint(declared(e + bump.get("energy", 0), "kJ"),
                                 declared(i + bump.get("intensity", 0), "gCO2e/kWh"),
                                 declared(pue + bump.get("pue", 0), "ratio"), share).gross_mg

    base, bumped = gross(), gross(**{which: Decimal(10)})
    if which == "el":
        assert bumped <= base
    else:
        assert bumped >= base


spread = st.decimals(min_value=0, max_value=Decimal("0.5"), places=3)


@settings(max_examples=60)
@given(positive, positive, st.decimals(min_value=1, max_value=2, places=3), positive,
       spread, spread, st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_interval_contains_value_and_every_point_inside(e, i, pue, te, se, si, a, b, c):
    energy = declared(e, "kJ", (e * (1 - se), e * (1 + se)))
    intensity = declared(i, "gCO2e/kWh", (i * (1 - si), i * (1 + si)))
    pue_f = declared(pue, "ratio", (Decimal(1), pue + 1))
    share = EmbodiedShare(declared(te, "kgCO2e", (te / 2, te * 2)), declared(4, "years"),
                          declared(1, "h"), declared(1, "count"), declared(1, "count"))
    fp = compute_footprint(energy, intensity, pue_f, share)
    low, high = fp.interval_mg
    assert low <= fp.gross_mg <= high
    assert fp.gross.low * 1000 == low and fp.gross.high * 1000 == high
    assert fp.operational.low <= fp.operational.value <= fp.operational.high

    def inside(f: Factor, t: float) -> Fraction:
        return Fraction(f.low) + (Fraction(f.high) - Fraction(f.low)) * Fraction(t)

    # any combination of factor values inside their intervals stays inside [low, high]
    o_mg = (inside(energy, a) * 10**6 * inside(pue_f, b) * inside(intensity, c) * 1000
            / units.MJ_PER_KWH)
    m_mg = inside(share.total, 1 - a) * 10**6 / (4 * 365 * 24)
    assert low <= o_mg + m_mg <= high
