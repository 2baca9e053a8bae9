"""Properties of the what-if projections over random campaigns (no receipts needed)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from xcr_py.insights import AssetFacts, DistilledRatio
from xcr_py.insights.whatif import best_model_projection, distilled_projection

facts_st = st.lists(
    st.tuples(st.sampled_from(["m1", "m2", "m3"]), st.sampled_from(["512x512", "1024x1024"]),
              st.integers(0, 10**9), st.integers(0, 10**6)),
    min_size=1, max_size=30,
).map(lambda rows: [AssetFacts(f"cid{i}", m, "image", s, s, e, g, "measured", ())
                    for i, (m, s, e, g) in enumerate(rows)])


@settings(max_examples=150, deadline=None)
@given(facts_st)
def test_best_model_never_projects_more(facts: list[AssetFacts]) -> None:
    p = best_model_projection(facts)
    assert 0 <= p.projected_energy_j <= p.actual_energy_j
    assert 0 <= p.projected_gross_g <= p.actual_gross_g
    assert p.actual_energy_j == Fraction(sum(f.energy_mj for f in facts), 1000)
    if len({f.model for f in facts}) == 1:
        assert p.saving_energy_j == 0 and p.assets_changed == 0


@settings(max_examples=150, deadline=None)
@given(facts_st, st.fractions(min_value=Fraction(1, 100), max_value=1))
def test_distilled_saving_is_exactly_the_ratio(facts: list[AssetFacts], r: Fraction) -> None:
    p = distilled_projection(facts, DistilledRatio("m1", "m1-small", str(float(r)), "test"))
    ratio = Fraction(str(float(r)))
    m1 = sum(f.energy_mj for f in facts if f.model == "m1")
    assert p.saving_energy_j == Fraction(m1, 1000) * (1 - ratio)
