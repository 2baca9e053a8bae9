"""What-if projections: energy and emissions had the campaign used another model.

Always a *projection*, never a reduction achieved: nothing here happened.

* ``best-model``: within each cohort of assets with the same task and output size, every
  asset made by a model other than the cohort's most efficient one (lowest mean energy per
  asset seen in this campaign) is projected at that model's mean energy per asset.
* ``distilled``: every asset of a named model is projected at a stated, measured energy ratio
  of a distilled model (e.g. 0.3 = the distilled model uses 30 % of the energy).

Projected emissions keep each asset's own grams per joule (its grid, PUE and embodied share):
``projected_gross = gross x projected_energy / energy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from xcr_py.errors import InputError
from xcr_py.footprint.factor import Number, to_decimal
from xcr_py.insights.aggregate import AssetFacts, group_by

__all__ = ["LABEL", "DistilledRatio", "Projection", "best_model_projection",
           "distilled_projection"]

LABEL = "projection (what-if; not a reduction achieved)"


@dataclass(frozen=True, init=False)
class DistilledRatio:
    """A distilled model's measured energy per asset as a fraction of the original's.

    Args:
        model: the model used in the campaign.
        distilled: the distilled model.
        ratio: distilled energy / original energy, in (0, 1].
        source: where the ratio was measured (required: a projection states its basis).
    """

    model: str
    distilled: str
    ratio: Fraction
    source: str

    def __init__(self, model: str, distilled: str, ratio: Number, source: str) -> None:
        r = Fraction(to_decimal(ratio, "distilled.ratio"))
        if not 0 < r <= 1:
            raise InputError("distilled.ratio", f"must be in (0, 1], got {float(r)}")
        if not model or not distilled:
            raise InputError("distilled.model", "model and distilled model must be named")
        if not source.strip():
            raise InputError("distilled.source", "must say where the ratio was measured")
        for name, value in (("model", model), ("distilled", distilled), ("ratio", r),
                            ("source", source)):
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Projection:
    """One what-if. Units: energy J, emissions gCO2e (exact fractions)."""

    kind: str
    description: str
    actual_energy_j: Fraction
    projected_energy_j: Fraction
    actual_gross_g: Fraction
    projected_gross_g: Fraction
    assets_changed: int
    details: tuple[dict[str, Any], ...] = field(default=())
    label: str = LABEL

    @property
    def saving_energy_j(self) -> Fraction:
        """Projected energy saving. Units: J."""
        return self.actual_energy_j - self.projected_energy_j

    @property
    def saving_gross_g(self) -> Fraction:
        """Projected emissions saving. Units: gCO2e."""
        return self.actual_gross_g - self.projected_gross_g

    @property
    def saving_fraction(self) -> Fraction:
        """Projected energy saving as a fraction of the actual energy."""
        return self.saving_energy_j / self.actual_energy_j if self.actual_energy_j else \
            Fraction(0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; labelled as a projection, units spelled out."""
        def q(value: Fraction, unit: str) -> dict[str, Any]:
            return {"value": float(value), "unit": unit, "method": "projection"}

        return {
            "label": self.label, "kind": self.kind, "description": self.description,
            "assets_changed": self.assets_changed,
            "actual_energy": q(self.actual_energy_j, "J"),
            "projected_energy": q(self.projected_energy_j, "J"),
            "projected_energy_saving": q(self.saving_energy_j, "J"),
            "actual_gross": q(self.actual_gross_g, "gCO2e"),
            "projected_gross": q(self.projected_gross_g, "gCO2e"),
            "projected_gross_saving": q(self.saving_gross_g, "gCO2e"),
            "projected_saving_fraction": float(self.saving_fraction),
            "details": list(self.details),
        }


def _project(facts: Sequence[AssetFacts], target_mj: dict[str, Fraction]) -> tuple[
        Fraction, Fraction, Fraction, Fraction, int]:
    """Totals with assets in ``target_mj`` (by CID) moved to their projected energy (mJ)."""
    actual_e = projected_e = actual_g = projected_g = Fraction(0)
    changed = 0
    for f in facts:
        actual_e += f.energy_mj
        actual_g += f.gross_mg
        new = target_mj.get(f.cid)
        if new is None or f.energy_mj == 0 or new >= f.energy_mj:
            projected_e += f.energy_mj
            projected_g += f.gross_mg
            continue
        changed += 1
        projected_e += new
        projected_g += Fraction(f.gross_mg) * new / f.energy_mj
    return actual_e / 1000, projected_e / 1000, actual_g / 1000, projected_g / 1000, changed


def best_model_projection(facts: Sequence[AssetFacts]) -> Projection:
    """Every asset at its cohort's most efficient model (same task and output size)."""
    target: dict[str, Fraction] = {}
    details = []
    cohorts: dict[tuple[str, str], list[AssetFacts]] = {}
    for f in facts:  # one pass: many distinct sizes must not make this quadratic
        cohorts.setdefault((f.task, f.size), []).append(f)
    for (task, size), cohort in cohorts.items():
        models = group_by(cohort, "model")
        best = min(models, key=lambda g: (g.energy_j_per_asset, g.key))
        best_mj = best.energy_j_per_asset * 1000
        for f in cohort:
            if f.model != best.key[0]:
                target[f.cid] = best_mj
        details.append({"task": task, "output_size": size, "best_model": best.key[0],
                        "best_energy_per_asset": {"value": float(best.energy_j_per_asset),
                                                  "unit": "J"},
                        "models": [g.key[0] for g in models]})
    details.sort(key=lambda d: (d["task"], d["output_size"]))
    totals = _project(facts, target)
    return Projection("best-model", "each asset at the mean energy per asset of the most "
                      "efficient model seen in this campaign for the same task and output size",
                      *totals, details=tuple(details))


def distilled_projection(facts: Sequence[AssetFacts], distilled: DistilledRatio) -> Projection:
    """Every asset of ``distilled.model`` at ``distilled.ratio`` of its energy."""
    target = {f.cid: f.energy_mj * distilled.ratio for f in facts
              if f.model == distilled.model}
    totals = _project(facts, target)
    return Projection("distilled", f"assets of {distilled.model} made with {distilled.distilled}"
                      f" at {float(distilled.ratio):g} x the energy ({distilled.source})",
                      *totals, details=({"model": distilled.model,
                                         "distilled": distilled.distilled,
                                         "ratio": float(distilled.ratio),
                                         "source": distilled.source},))
