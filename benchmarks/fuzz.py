"""Long stateful fuzzing run of the XCR contracts (issue 8): >= 10,000 sequences on eth-tester.

One command::

    python3 benchmarks/fuzz.py [--sequences 10000] [--chunk 250] [--steps 10] [--seed 1] [--json]

Runs the state machine of ``tests/fuzz`` (model of every outcome, invariants checked after every
step; see docs/fuzzing.md) in seeded chunks of ``--chunk`` sequences (chunk ``i`` uses seed
``--seed + i``, so any chunk is reproducible alone), printing progress after each. At the end it
prints the sequence and step counts, steps/s, the outcome of every action (how many succeeded,
how many reverted with which custom error) and any failure with hypothesis' minimal failing
sequence; it stops at the first failure and exits 1.

Baseline, measured in the same run on the same chain: a plain ``eth_call`` of a view function
(``policy()``) and a plain transaction (an ether transfer), against the mean cost of one fuzz step
(action + invariant check + the hypothesis engine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.fuzz` from a plain checkout

from tests.fuzz.driver import EmbeddedDriver
from tests.fuzz.machine import encode_call
from tests.fuzz.runner import run_machine
from tests.fuzz.world import World, build_world
from xcr_py.chain import connect, dev_private_keys


def _embedded_world() -> World:
    w3 = connect("embedded")
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    return build_world(w3, dev_private_keys(w3), EmbeddedDriver(tester, int(w3.eth.chain_id)))


def baseline(world: World, repeats: int = 200) -> dict[str, float]:
    """Median seconds of a plain eth_call and of a plain ether transfer on ``world``'s chain."""
    driver = world.driver
    assert isinstance(driver, EmbeddedDriver)
    data = encode_call(world.controller, "policy", ())
    calls, sends = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        driver.call(world.admin, world.controller.address, data)
        calls.append(time.perf_counter() - start)
    for _ in range(repeats):
        start = time.perf_counter()
        driver.send(world.admin, world.holder, b"")
        sends.append(time.perf_counter() - start)
    driver.reset()
    return {"call_s": statistics.median(calls), "transfer_s": statistics.median(sends)}


def outcome_table(outcomes: Counter[str]) -> dict[str, dict[str, int]]:
    """``{"action": {"ok": n, "SomeError": m}}`` from the run's ``"action: outcome"`` counts."""
    table: dict[str, dict[str, int]] = {}
    for key, count in outcomes.items():
        action, outcome = key.rsplit(": ", 1)
        table.setdefault(action, {})[outcome] = count
    return dict(sorted(table.items()))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 if every sequence held, 1 on the first failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sequences", type=int, default=10_000, help="sequences in all (default 10,000)"
    )
    parser.add_argument("--chunk", type=int, default=250, help="sequences per seeded chunk")
    parser.add_argument("--steps", type=int, default=10, help="max steps per sequence")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first chunk")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON at the end")
    args = parser.parse_args(argv)
    for name in ("sequences", "chunk", "steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")

    world = _embedded_world()
    base = baseline(world)
    print(
        f"baseline: eth_call policy() {base['call_s'] * 1e3:.2f} ms, ether transfer "
        f"{base['transfer_s'] * 1e3:.2f} ms (median of 200, same chain)",
        flush=True,
    )

    chunks = -(-args.sequences // args.chunk)
    sequences = steps = checks = 0
    outcomes: Counter[str] = Counter()
    failure: dict[str, Any] | None = None
    started = time.perf_counter()
    for i in range(chunks):
        size = min(args.chunk, args.sequences - i * args.chunk)
        seed = args.seed + i
        try:
            run = run_machine(world, size, args.steps, seed=seed)
        except Exception as exc:  # an invariant or the model failed: report and stop
            stats = world.stats
            sequences, steps, checks = (
                sequences + stats.sequences,
                steps + stats.steps,
                checks + stats.checks,
            )
            outcomes.update(stats.outcomes)
            notes = list(getattr(exc, "__notes__", []))
            failure = {
                "chunk": i,
                "seed": seed,
                "error": f"{type(exc).__name__}: {exc}",
                "sequence": notes,
            }
            break
        sequences, steps, checks = (
            sequences + run.sequences,
            steps + run.stats.steps,
            checks + run.stats.checks,
        )
        outcomes.update(run.stats.outcomes)
        elapsed = time.perf_counter() - started
        print(
            f"chunk {i + 1}/{chunks} (seed {seed}): {sequences} sequences, {steps} steps, "
            f"{steps / elapsed:.1f} steps/s, {elapsed:.0f} s",
            flush=True,
        )
    elapsed = time.perf_counter() - started

    step_s = elapsed / max(steps, 1)
    print(
        f"\nsequences: {sequences}  steps: {steps}  invariant checks: {checks}  "
        f"time: {elapsed:.0f} s  steps/s: {steps / elapsed:.1f}"
    )
    print(
        f"one fuzz step: {step_s * 1e3:.1f} ms = {step_s / base['call_s']:.1f} x a plain eth_call, "
        f"{step_s / base['transfer_s']:.1f} x a plain transfer"
    )
    table = outcome_table(outcomes)
    print("\noutcomes per action (ok = the chain accepted it, as the model predicted):")
    for action, results in table.items():
        parts = ", ".join(
            f"{name} {count}" for name, count in sorted(results.items(), key=lambda kv: -kv[1])
        )
        print(f"  {action:32} {parts}")
    if failure is not None:
        print(f"\nFAILURE in chunk {failure['chunk']} (seed {failure['seed']}): {failure['error']}")
        print("\n".join(failure["sequence"]))
    else:
        print("\nfailures: 0")
    if args.json:
        print(
            json.dumps(
                {
                    "sequences": sequences,
                    "steps": steps,
                    "checks": checks,
                    "seconds": elapsed,
                    "steps_per_s": steps / elapsed,
                    "baseline": base,
                    "outcomes": table,
                    "failure": failure,
                },
                indent=2,
            )
        )
    return 1 if failure is not None else 0


if __name__ == "__main__":
    sys.exit(main())
