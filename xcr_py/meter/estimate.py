"""The declared estimate: TDP x utilisation x time, for when nothing can be measured.

Always labelled ``method="estimated"``, ``source="declared-estimate"``, with a wide interval
(:data:`ESTIMATE_RELATIVE_INTERVAL`, +/-50 %): real draw depends on the workload, clocks and
idle power, which a nameplate figure does not know.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xcr_py.errors import InputError
from xcr_py.meter.base import Backend, Channel

__all__ = ["ESTIMATE_RELATIVE_INTERVAL", "EstimateBackend", "EstimateSpec"]

ESTIMATE_RELATIVE_INTERVAL = 0.5
"""The estimate's interval: +/-50 % of the value."""


@dataclass(frozen=True)
class EstimateSpec:
    """A declared device: ``device`` id (``"gpu:0"``), thermal design power and utilisation."""

    device: str
    tdp_w: float
    utilisation: float = 1.0

    def __post_init__(self) -> None:
        if not self.device or ":" not in self.device:
            raise InputError("estimate.device", f"must look like 'gpu:0', got {self.device!r}")
        if not 0 < self.tdp_w <= 10_000:
            raise InputError("estimate.tdp_w", f"must be in (0, 10000] W, got {self.tdp_w!r}")
        if not 0 < self.utilisation <= 1:
            raise InputError("estimate.utilisation", f"must be in (0, 1], got {self.utilisation!r}")


class _EstimateChannel(Channel):
    source = "declared-estimate"
    method = "estimated"
    resolution_s = 0.0
    relative_accuracy = ESTIMATE_RELATIVE_INTERVAL

    def __init__(self, spec: EstimateSpec, clock: Callable[[], float]) -> None:
        self.device = spec.device
        self._power_mw = spec.tdp_w * spec.utilisation * 1000
        self._clock = clock
        self._origin = clock()

    def read_mj(self) -> int:
        return math.ceil(self._power_mw * (self._clock() - self._origin))

    def power_mw(self) -> int | None:
        return math.ceil(self._power_mw)


class EstimateBackend(Backend):
    """Channels that integrate a declared constant power over time."""

    def __init__(self, specs: Sequence[EstimateSpec], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not specs:
            raise InputError("estimate", "needs at least one declared device")
        self._channels = [_EstimateChannel(s, clock) for s in specs]

    def channels(self) -> Sequence[Channel]:
        return tuple(self._channels)
