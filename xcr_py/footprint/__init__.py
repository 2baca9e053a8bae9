"""Footprint: the Green Software Foundation SCI math with every factor shown.

Public API::

    fp = compute_footprint(energy_factor_from_window(window),
                           EmbeddedIntensity().intensity("DE", window.started_at),
                           default_pue(), device_share("H100", window.duration_s))
    fp.gross_mg, fp.interval_mg, fp.onchain()     # exact integers for the contract
    explain(fp)                                    # list[ExplainStep]
"""

from xcr_py.footprint.asset import window_footprint
from xcr_py.footprint.embodied import (
    EmbodiedDevice,
    default_pue,
    device_share,
    embodied_device,
    embodied_devices,
    site_pue,
)
from xcr_py.footprint.explain import ExplainStep, explain
from xcr_py.footprint.factor import FACTOR_METHODS, Factor, FactorMethod
from xcr_py.footprint.http_providers import (
    ElectricityMapsIntensity,
    WattTimeIntensity,
    watttime_login,
)
from xcr_py.footprint.intensity import (
    ConstantIntensity,
    EmbeddedIntensity,
    FileIntensity,
    IntensityProvider,
    annual_zones,
)
from xcr_py.footprint.sci import (
    EmbodiedShare,
    Footprint,
    MarketBased,
    OnchainFootprint,
    compute_footprint,
    energy_factor_from_window,
)

__all__ = [
    "FACTOR_METHODS",
    "ConstantIntensity",
    "ElectricityMapsIntensity",
    "EmbeddedIntensity",
    "EmbodiedDevice",
    "EmbodiedShare",
    "ExplainStep",
    "Factor",
    "FactorMethod",
    "FileIntensity",
    "Footprint",
    "IntensityProvider",
    "MarketBased",
    "OnchainFootprint",
    "WattTimeIntensity",
    "annual_zones",
    "compute_footprint",
    "default_pue",
    "device_share",
    "embodied_device",
    "embodied_devices",
    "energy_factor_from_window",
    "explain",
    "site_pue",
    "watttime_login",
    "window_footprint",
]
