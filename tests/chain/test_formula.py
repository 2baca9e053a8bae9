"""The controller's arithmetic equals xcr_py.units on random inputs (embedded chain only)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chain.helpers import Env
from xcr_py import units

U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(energy=U64, intensity=U32, pue=st.integers(1000, 2**32 - 1), embodied=U64)
def test_gross_emissions_match_units(
    embedded_env: Env, energy: int, intensity: int, pue: int, embodied: int
) -> None:
    on_chain = embedded_env.admin.controller.functions.grossEmissionsMg(
        energy, intensity, pue, embodied
    ).call()
    assert on_chain == units.gross_emissions_mg(energy, intensity, pue, embodied)


@PROPERTY
@given(gross=st.integers(0, 2**80), ratio=st.integers(10_000, 2**32 - 1))
def test_grams_to_retire_match_units(embedded_env: Env, gross: int, ratio: int) -> None:
    on_chain = embedded_env.admin.controller.functions.gramsToRetire(gross, ratio).call()
    expected = units.grams_to_retire(units.required_removal_mg(gross, ratio))
    assert on_chain == expected
    assert on_chain * 1000 * 10_000 >= gross * ratio  # never under-retires


@PROPERTY
@given(
    energy=st.integers(0, 10**15),  # up to ~280 MWh per asset
    intensity=st.integers(0, 2_000_000),
    pue=st.integers(1000, 3000),
    embodied=st.integers(0, 10**12),
)
def test_realistic_values_never_overflow(
    embedded_env: Env, energy: int, intensity: int, pue: int, embodied: int
) -> None:
    gross = units.gross_emissions_mg(energy, intensity, pue, embodied)
    grams = embedded_env.admin.controller.functions.gramsToRetire(gross, 50_000).call()
    assert grams == units.grams_to_retire(units.required_removal_mg(gross, 50_000))
    assert grams * 1000 < 2**56  # fits the receipt's removedMg field
