"""Run the state machine for a number of sequences; shared by the CI test and benchmarks/fuzz.py."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis.stateful import get_state_machine_test

from tests.fuzz.machine import XcrMachine
from tests.fuzz.world import Stats, World

__all__ = ["Run", "run_machine"]


@dataclass(frozen=True)
class Run:
    """What one run did: sequences and steps executed, wall seconds, outcome counts."""

    sequences: int
    steps: int
    seconds: float
    stats: Stats


def run_machine(
    world: World,
    sequences: int,
    steps: int,
    seed: int | None = None,
    machine: type[XcrMachine] = XcrMachine,
) -> Run:
    """Run ``sequences`` examples of up to ``steps`` steps each on ``world``.

    ``seed=None`` is the deterministic CI mode (derandomized, no example database); a seed gives
    a different, reproducible stream (the benchmark's chunks). A failure raises with hypothesis'
    minimal failing sequence in the exception's notes. ``machine`` is a subclass to run instead
    (the tests' deliberately broken machines).
    """
    world.stats = Stats()
    config = settings(
        max_examples=sequences,
        stateful_step_count=steps,
        derandomize=seed is None,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    test = get_state_machine_test(lambda: machine(world), settings=config)
    if seed is not None:
        test._hypothesis_internal_use_seed = seed  # what @hypothesis.seed sets
    start = time.perf_counter()
    test()
    return Run(world.stats.sequences, world.stats.steps, time.perf_counter() - start, world.stats)
