"""The device seam: every backend exposes channels that read a cumulative energy counter.

A :class:`Channel` is one device (a GPU, a CPU package, a DRAM domain, or a declared estimate).
It returns a monotonic cumulative energy in millijoules; the :class:`~xcr_py.meter.meter.Meter`
turns differences of these readings into windows. Backends translate their own errors into
:class:`~xcr_py.errors.MeterError` / :class:`~xcr_py.errors.DeviceUnavailable` here, at the seam,
so nothing above this layer sees a vendor exception.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

__all__ = ["Backend", "Channel"]


class Channel(ABC):
    """One metered device.

    Attributes:
        device: id such as ``"gpu:0"`` or ``"cpu:package-0"``.
        source: one of :data:`xcr_py.meter.window.SOURCES`.
        method: ``"measured"`` or ``"estimated"``.
        resolution_s: how stale a reading can be (counter update or sampling period). Units: s.
        relative_accuracy: calibration bound of the sensor as a fraction of the value (stated
            per backend; an assumption where the vendor gives none).
        max_read_interval_s: read at least this often so counter wrap-around is seen; ``None``
            when the counter cannot wrap in practice.
    """

    device: str
    source: str
    method: str
    resolution_s: float
    relative_accuracy: float
    max_read_interval_s: float | None = None

    @abstractmethod
    def read_mj(self) -> int:
        """Cumulative energy since an arbitrary origin, monotonic. Units: mJ."""

    def power_mw(self) -> int | None:
        """Instantaneous power if the device reports it, else ``None``. Units: mW."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, most channels hold nothing
        """Release anything the channel holds (threads, handles)."""


class Backend(ABC):
    """A family of channels sharing one driver or data source."""

    @abstractmethod
    def channels(self) -> Sequence[Channel]:
        """The channels this backend meters."""

    def close(self) -> None:
        """Release the driver and every channel."""
        for channel in self.channels():
            channel.close()
