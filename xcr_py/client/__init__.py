"""Client for render pipelines: meter each generation, pin its receipt, settle it on chain.

Public API::

    from xcr_py.client import Tracker, track, track_batch

    with track(model="sdxl", campaign="spring") as t:      # default tracker from xcr.toml
        t.set_asset(png_bytes)

    tracker = Tracker(config, gateway=..., quorum=..., store=...)   # injected parts
    with tracker.track_batch(weights=[2, 1], model="sdxl") as b:
        b.set_assets([img_a, img_b])
    tracker.record(cloud_window(estimate_cloud_request(...), key="r1"), image, model="x")
    tracker.flush()        # settles; raises TrackingFailed listing failures

See ``docs/pipeline.md``.
"""

from xcr_py.client.credit import CreditChoice, CreditSelector, NoEligibleCredits
from xcr_py.client.default import (
    default_tracker,
    record,
    set_default_tracker,
    track,
    track_batch,
)
from xcr_py.client.onchain import batch_token_id, settling_tx
from xcr_py.client.prepare import AssetJob, FootprintSettings, Prepared, Preparer
from xcr_py.client.settle import AssetNotPinned, Settler, classify
from xcr_py.client.tracker import AssetResult, BatchHandle, Tracker, TrackHandle, TrackingFailed

__all__ = [
    "AssetJob",
    "AssetNotPinned",
    "AssetResult",
    "BatchHandle",
    "CreditChoice",
    "CreditSelector",
    "FootprintSettings",
    "NoEligibleCredits",
    "Prepared",
    "Preparer",
    "Settler",
    "TrackHandle",
    "Tracker",
    "TrackingFailed",
    "batch_token_id",
    "classify",
    "default_tracker",
    "record",
    "set_default_tracker",
    "settling_tx",
    "track",
    "track_batch",
]
