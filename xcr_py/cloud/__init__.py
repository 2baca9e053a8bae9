"""Cloud-API generations: energy estimated from published per-inference measurements.

Public API::

    est = estimate_cloud_request("image-generation", "sdxl", provider="acme", params={...})
    est.energy          # Factor in J: value, interval, source (entry id + citation), estimated
    est.method          # "estimated (published benchmark)"
    window = cloud_window(est, key="asset-42", duration_s=3.2)   # the meter's EnergyWindow

The table ships as ``xcr_py/data/cloud_inference.json``; see ``docs/cloud-estimates.md``.
"""

from xcr_py.cloud.estimate import (
    CLOUD_DEVICE,
    METHOD,
    EnergyEstimate,
    cloud_window,
    estimate_cloud_request,
)
from xcr_py.cloud.table import (
    CloudEntry,
    CloudSource,
    CloudTable,
    Scaling,
    default_table,
    load_table,
)

__all__ = [
    "CLOUD_DEVICE",
    "METHOD",
    "CloudEntry",
    "CloudSource",
    "CloudTable",
    "EnergyEstimate",
    "Scaling",
    "cloud_window",
    "default_table",
    "estimate_cloud_request",
    "load_table",
]
