"""Efficiency insights for a campaign: per model, per settings, and what-if projections.

Public API::

    ins = campaign_insights(receipts, params_by_cid,
                            distilled=[DistilledRatio("sdxl", "sdxl-turbo", 0.3, "our A/B")])
    ins.by_model, ins.by_settings      # Groups: energy and gross emissions per asset
    ins.projections                    # labelled "projection", never a reduction achieved
    load_campaign(config, "spring")    # receipts + params from the outbox and block store

See ``docs/audit.md`` (insights section).
"""

from xcr_py.insights.aggregate import AssetFacts, Group, asset_facts, group_by
from xcr_py.insights.campaign import Insights, campaign_insights
from xcr_py.insights.whatif import (
    LABEL,
    DistilledRatio,
    Projection,
    best_model_projection,
    distilled_projection,
)

__all__ = [
    "LABEL",
    "AssetFacts",
    "DistilledRatio",
    "Group",
    "Insights",
    "Projection",
    "asset_facts",
    "best_model_projection",
    "campaign_insights",
    "distilled_projection",
    "group_by",
]
