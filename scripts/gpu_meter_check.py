"""Prepared check for a machine with an NVIDIA GPU: xcr_py.meter vs direct pynvml counter reads.

Run on the GPU machine from the repository root::

    python3 scripts/gpu_meter_check.py [--gpu 0] [--size 8192] [--seconds 10] [--repeats 3]

It runs a fixed matrix-multiply workload (torch, fp16 on the GPU) and meters each run three
ways at once: direct ``nvmlDeviceGetTotalEnergyConsumption`` reads around the run, an
``xcr_py.meter`` window over the energy counter, and a second meter that samples
``nvmlDeviceGetPowerUsage`` (the fallback path). Then it meters 20 short (~20 ms) generations
as one batch window, split by weights, beside per-item windows. Output: one JSON document on
stdout. Nothing in the package depends on this script having been run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xcr_py.meter import Meter, NvmlBackend, split_batch
from xcr_py.meter.nvidia import import_pynvml


def _workload(torch: Any, a: Any, b: Any, seconds: float) -> int:
    """Matmuls until ``seconds`` have passed (synchronised); returns the count."""
    count = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(10):
            a @ b
        torch.cuda.synchronize()
        count += 10
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gpu", type=int, default=0)
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print(json.dumps({"error": "torch is not installed; pip install torch"}))
        return 2
    if not torch.cuda.is_available():
        print(json.dumps({"error": "torch sees no CUDA device"}))
        return 2

    nvml = import_pynvml()
    nvml.nvmlInit()
    handle = nvml.nvmlDeviceGetHandleByIndex(args.gpu)
    report: dict[str, Any] = {
        "gpu": str(nvml.nvmlDeviceGetName(handle)),
        "driver": str(nvml.nvmlSystemGetDriverVersion()),
        "workload": f"fp16 matmul {args.size}x{args.size}, {args.seconds} s per run",
        "runs": [],
    }
    device = torch.device(f"cuda:{args.gpu}")
    a = torch.randn(args.size, args.size, device=device, dtype=torch.float16)
    b = torch.randn(args.size, args.size, device=device, dtype=torch.float16)
    _workload(torch, a, b, 2.0)  # warm-up: clocks and caches

    counter_meter = Meter([NvmlBackend([args.gpu])])
    sampling_meter = Meter([NvmlBackend([args.gpu], force_sampling=True,
                                        sampling_interval_s=0.02)])
    for i in range(args.repeats):
        key = f"run-{i}"
        direct_0 = nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        t0 = time.monotonic()
        counter_meter.begin_window(key)
        sampling_meter.begin_window(key)
        matmuls = _workload(torch, a, b, args.seconds)
        sampled = sampling_meter.end_window(key).devices[0]
        counted = counter_meter.end_window(key).devices[0]
        t1 = time.monotonic()
        direct_1 = nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        direct_j = (direct_1 - direct_0) / 1000
        report["runs"].append({
            "duration_s": round(t1 - t0, 3),
            "matmuls": matmuls,
            "direct_counter_j": direct_j,
            "meter_counter_j": counted.energy_mj / 1000,
            "meter_counter_interval_j": [counted.low_mj / 1000, counted.high_mj / 1000],
            "meter_sampling_j": sampled.energy_mj / 1000,
            "meter_sampling_interval_j": [sampled.low_mj / 1000, sampled.high_mj / 1000],
            "counter_vs_direct_pct": round(100 * (counted.energy_mj / 1000 - direct_j)
                                           / direct_j, 3) if direct_j else None,
            "sampling_vs_direct_pct": round(100 * (sampled.energy_mj / 1000 - direct_j)
                                            / direct_j, 3) if direct_j else None,
            "direct_within_meter_interval": counted.low_mj / 1000 <= direct_j
            <= counted.high_mj / 1000,
        })

    # Short generations: 20 x ~20 ms, metered singly and as one batch split by weight.
    small = a[:2048, :2048].contiguous()
    singles = []
    for i in range(20):
        with counter_meter.window(f"short-{i}") as w:
            _workload(torch, small, small, 0.02)
        singles.append(w.result.devices[0])
    counter_meter.begin_window("batch")
    for _ in range(20):
        _workload(torch, small, small, 0.02)
    batch = counter_meter.end_window("batch")
    parts = split_batch(batch, [1] * 20)
    report["short_windows"] = {
        "single_windows_below_resolution": sum(d.below_resolution for d in singles),
        "single_windows_sum_j": sum(d.energy_mj for d in singles) / 1000,
        "single_windows_interval_sum_j": [sum(d.low_mj for d in singles) / 1000,
                                          sum(d.high_mj for d in singles) / 1000],
        "batch_j": batch.devices[0].energy_mj / 1000,
        "batch_interval_j": [batch.devices[0].low_mj / 1000, batch.devices[0].high_mj / 1000],
        "batch_split_part_j": parts[0].devices[0].energy_mj / 1000,
    }
    counter_meter.close()
    sampling_meter.close()
    nvml.nvmlShutdown()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
