"""``campaign_insights``: per-model and per-settings figures and what-ifs for one campaign."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xcr_py.errors import InputError
from xcr_py.insights.aggregate import AssetFacts, Group, asset_facts, group_by
from xcr_py.insights.whatif import (
    DistilledRatio,
    Projection,
    best_model_projection,
    distilled_projection,
)
from xcr_py.receipt import Receipt

__all__ = ["Insights", "campaign_insights"]


@dataclass(frozen=True)
class Insights:
    """Figures for one campaign. Units: energy mJ / J, emissions mg / gCO2e.

    ``estimated_energy_mj`` is the part of the energy that was estimated (no meter), and
    ``benchmark_energy_mj`` the part of that from published benchmarks (cloud requests):
    reports show their share separately.
    """

    campaign: str | None
    assets: int
    energy_mj: int
    gross_mg: int
    estimated_energy_mj: int
    benchmark_energy_mj: int
    by_model: tuple[Group, ...]
    by_settings: tuple[Group, ...]
    projections: tuple[Projection, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``xcr insights --json``)."""
        def share(part: int) -> float:
            return part / self.energy_mj if self.energy_mj else 0.0

        return {
            "campaign": self.campaign, "assets": self.assets,
            "energy": {"value": self.energy_mj / 1000, "unit": "J",
                       "source": "campaign receipts (energy.gpu_j + energy.cpu_j)"},
            "gross": {"value": self.gross_mg / 1000, "unit": "gCO2e",
                      "source": "campaign receipts (emissions.gross_mg)"},
            "energy_share": {"measured": share(self.energy_mj - self.estimated_energy_mj),
                             "estimated": share(self.estimated_energy_mj),
                             "estimated (published benchmark)":
                                 share(self.benchmark_energy_mj)},
            "by_model": [g.to_dict(("model",)) for g in self.by_model],
            "by_settings": [g.to_dict(("model", "settings")) for g in self.by_settings],
            "projections": [p.to_dict() for p in self.projections],
        }


def campaign_insights(receipts: Sequence[Receipt],
                      params: Mapping[str, Mapping[str, Any]] | None = None, *,
                      distilled: Sequence[DistilledRatio] = ()) -> Insights:
    """Aggregate a campaign's receipts and project what-ifs (pure: no I/O).

    Args:
        receipts: the campaign's receipts (one per asset; a CID seen twice is an error).
        params: declared generation parameters by asset CID (``width``, ``height``,
            ``steps``, ``duration_s``); the receipt itself has no place for them.
        distilled: stated distilled-model ratios to project.

    Raises:
        InputError: no receipts, receipts from different campaigns, or a duplicate asset.
    """
    if not receipts:
        raise InputError("receipts", "must hold at least one receipt")
    campaigns = {r.asset.campaign for r in receipts}
    if len(campaigns) > 1:
        names = sorted(map(str, campaigns))
        raise InputError("receipts", f"must come from one campaign, got {names}")
    params = params or {}
    facts: list[AssetFacts] = []
    seen: set[str] = set()
    for i, r in enumerate(receipts):
        if r.asset.cid in seen:
            raise InputError(f"receipts.{i}.asset.cid", f"{r.asset.cid} appears twice")
        seen.add(r.asset.cid)
        facts.append(asset_facts(r, params.get(r.asset.cid)))
    projections = [best_model_projection(facts)]
    projections += [distilled_projection(facts, d) for d in distilled]
    return Insights(
        campaign=campaigns.pop(), assets=len(facts),
        energy_mj=sum(f.energy_mj for f in facts), gross_mg=sum(f.gross_mg for f in facts),
        estimated_energy_mj=sum(f.energy_mj for f in facts if f.energy_method != "measured"),
        benchmark_energy_mj=sum(f.energy_mj for f in facts if f.published_benchmark),
        by_model=tuple(group_by(facts, "model")),
        by_settings=tuple(group_by(facts, "model", "settings")),
        projections=tuple(projections))
