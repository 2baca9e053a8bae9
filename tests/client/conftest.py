"""Client-test fixtures: one XCR deployment on the in-process embedded chain per module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client.helpers import System, deploy_system, estimate_meter, fast_outbox, make_config
from xcr_py.chain import connect, dev_private_keys
from xcr_py.client import Tracker
from xcr_py.content.local import LocalStore


@pytest.fixture(scope="module")
def system() -> System:
    """Contracts deployed on a fresh embedded chain, with an eligible DAC credit batch."""
    w3 = connect("embedded")
    return deploy_system(w3, dev_private_keys(w3))


@pytest.fixture
def make_tracker(system: System, tmp_path: Path) -> Iterator[Callable[..., Tracker]]:
    """Build trackers on ``system`` with a LocalStore and outbox in ``tmp_path``."""
    made: list[Tracker] = []

    def build(mode: str = "single", batch_size: int = 4, **kwargs: Any) -> Tracker:
        n = len(made)
        config = make_config(tmp_path, **{"mode.kind": mode, "mode.batch_size": batch_size,
                                          "mode.max_delay_s": 3600})
        parts: dict[str, Any] = {
            "meter": estimate_meter(), "store": LocalStore(tmp_path / "store"),
            "gateway": system.gateway(), "quorum": system.quorum(),
            "outbox": fast_outbox(tmp_path / f"outbox{n}.sqlite"), "env": {},
        }
        parts.update(kwargs)
        tracker = Tracker(config, **parts)
        made.append(tracker)
        return tracker

    yield build
    for tracker in made:
        tracker.close(flush=False)
