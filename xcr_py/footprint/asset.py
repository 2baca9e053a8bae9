"""One call from a metered window to its footprint: what the client and receipt stages use."""

from __future__ import annotations

from datetime import datetime

from xcr_py.footprint.embodied import default_pue, device_share
from xcr_py.footprint.factor import Factor
from xcr_py.footprint.intensity import EmbeddedIntensity, IntensityProvider
from xcr_py.footprint.sci import (
    EmbodiedShare,
    Footprint,
    MarketBased,
    compute_footprint,
    energy_factor_from_window,
)
from xcr_py.meter.window import EnergyWindow

__all__ = ["window_footprint"]


def window_footprint(window: EnergyWindow, *, zone: str | None = None,
                     intensity: IntensityProvider | None = None, when: datetime | None = None,
                     pue: Factor | None = None, device: str | None = None,
                     resources_reserved: int = 1, resources_total: int = 1,
                     embodied: EmbodiedShare | Factor | None = None,
                     market: MarketBased | None = None) -> Footprint:
    """The SCI footprint of one metered asset (split batches first).

    Args:
        window: the asset's energy window (its energy, interval, start time and duration).
        zone: grid zone for the provider (embedded data by default).
        intensity: the intensity provider; :class:`EmbeddedIntensity` if ``None``.
        when: the hour to price; the window's start if ``None``.
        pue: site PUE; the cited default (1.56) if ``None``.
        device: embodied-table device class (``"H100"``...); TiR = the window's duration.
        resources_reserved / resources_total: resource share for the device row.
        embodied: explicit embodied inputs instead of ``device``.
        market: a declared contractual instrument, reported beside.
    """
    provider = intensity if intensity is not None else EmbeddedIntensity()
    factor = provider.intensity(zone, when if when is not None else window.started_at)
    if embodied is None and device is not None:
        embodied = device_share(device, window.duration_s, resources_reserved=resources_reserved,
                                resources_total=resources_total,
                                reserved_source=f"duration of window {window.key!r}")
    return compute_footprint(energy_factor_from_window(window), factor,
                             pue if pue is not None else default_pue(), embodied, market)
