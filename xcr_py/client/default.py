"""Module-level ``track`` / ``track_batch`` / ``record``: one default :class:`Tracker` per process.

Created at first use from :func:`~xcr_py.config.from_environment` (``xcr.toml`` in the
working folder, ``XCR_*`` variables), and closed (flushed) at interpreter exit.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from xcr_py.client.tracker import AssetLike, BatchHandle, Tracker, TrackHandle
from xcr_py.meter.window import EnergyWindow

__all__ = ["default_tracker", "record", "set_default_tracker", "track", "track_batch"]

_lock = threading.Lock()
_default: Tracker | None = None


def default_tracker() -> Tracker:
    """The process's default tracker, built from the environment's configuration once."""
    global _default
    with _lock:
        if _default is None:
            from xcr_py.config import from_environment

            _default = Tracker(from_environment())
            atexit.register(_default.close)
        return _default


def set_default_tracker(tracker: Tracker | None) -> Tracker | None:
    """Install ``tracker`` as the default (``None`` forgets it); returns the previous one."""
    global _default
    with _lock:
        previous, _default = _default, tracker
        return previous


@contextmanager
def track(asset: AssetLike | None = None, *, model: str, campaign: str | None = None,
          media_type: str | None = None, creator: str | None = None,
          params: Mapping[str, Any] | None = None) -> Iterator[TrackHandle]:
    """:meth:`Tracker.track` on the default tracker."""
    with default_tracker().track(asset, model=model, campaign=campaign, media_type=media_type,
                                 creator=creator, params=params) as handle:
        yield handle


@contextmanager
def track_batch(assets: Sequence[AssetLike] | None = None, weights: Sequence[int] | None = None,
                *, model: str, campaign: str | None = None, media_type: str | None = None,
                creator: str | None = None, params: Mapping[str, Any] | None = None,
                ) -> Iterator[BatchHandle]:
    """:meth:`Tracker.track_batch` on the default tracker."""
    with default_tracker().track_batch(assets, weights, model=model, campaign=campaign,
                                       media_type=media_type, creator=creator,
                                       params=params) as handle:
        yield handle


def record(window: EnergyWindow, asset: AssetLike, *, model: str, campaign: str | None = None,
           media_type: str | None = None, creator: str | None = None,
           params: Mapping[str, Any] | None = None) -> str:
    """:meth:`Tracker.record` on the default tracker."""
    return default_tracker().record(window, asset, model=model, campaign=campaign,
                                    media_type=media_type, creator=creator, params=params)
