"""Overhead of one begin_window + end_window pair, next to a bare perf_counter() pair.

Run: ``python3 benchmarks/meter.py [--n 20000]``. Prints JSON: the median and p99 cost of one
window (begin + end) with the fake NVML (1 and 8 GPUs, energy counter) and with the estimate
backend, each beside the median of a bare ``time.perf_counter()`` pair measured in the same
run, as a ratio. Target: <= 1 ms median per window. The fake NVML costs less than a real driver
call (~tens of microseconds each), so on a GPU add that per device; see docs/metering.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.fake_nvml import FakeGpu, install_fake_nvml
from xcr_py.meter import EstimateBackend, EstimateSpec, Meter, NvmlBackend

TARGET_MS = 1.0


def _bare(n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        t1 = time.perf_counter()
        out.append(t1 - t0)
    return out


def _windows(meter: Meter, n: int) -> list[float]:
    out = []
    for i in range(n):
        key = f"k{i}"
        t0 = time.perf_counter()
        meter.begin_window(key)
        meter.end_window(key)
        out.append(time.perf_counter() - t0)
    return out


def _summary(samples: list[float], bare_median: float) -> dict[str, float]:
    samples = sorted(samples)
    median = statistics.median(samples)
    return {"median_us": round(median * 1e6, 2),
            "p99_us": round(samples[int(len(samples) * 0.99) - 1] * 1e6, 2),
            "ratio_to_bare_pair": round(median / bare_median, 1),
            "meets_1ms_target": median * 1000 <= TARGET_MS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    n = parser.parse_args().n
    bare = statistics.median(_bare(n))
    results: dict[str, object] = {"n": n, "bare_perf_counter_pair_us": round(bare * 1e6, 3)}
    with pytest.MonkeyPatch.context() as mp:
        for gpus in (1, 8):
            install_fake_nvml(mp, [FakeGpu() for _ in range(gpus)])
            with Meter([NvmlBackend()]) as meter:
                _windows(meter, min(n, 1000))  # warm-up
                results[f"fake_nvml_{gpus}gpu"] = _summary(_windows(meter, n), bare)
    with Meter([EstimateBackend([EstimateSpec("gpu:0", tdp_w=300)])]) as meter:
        _windows(meter, min(n, 1000))
        results["estimate_1device"] = _summary(_windows(meter, n), bare)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
