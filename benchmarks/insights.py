"""Cost of ``campaign_insights`` and ``estimate_cloud_request``, each beside a baseline.

Run: ``python3 benchmarks/insights.py [--n 20000]``. Prints JSON:

* insights: ``campaign_insights`` over N receipts (8 models, 3 output sizes, one distilled
  ratio) beside the baseline of summing the same receipts' energy and emissions by model in a
  plain dict loop, measured in the same run, as a ratio. Receipts are built once, outside the
  timing (the receipt model's validation is not what is measured).
* cloud: one ``estimate_cloud_request`` call beside one ``CloudTable.find`` lookup (the
  baseline: the table search alone), as a ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.insights.campaign import receipt
from xcr_py.cloud import default_table, estimate_cloud_request
from xcr_py.insights import DistilledRatio, campaign_insights

SIZES = ({"width": 512, "height": 512}, {"width": 1024, "height": 1024},
         {"width": 1024, "height": 576})


def _campaign(n: int):  # type: ignore[no-untyped-def]
    receipts, params = [], {}
    for i in range(n):
        r = receipt(f"b{i}", f"model-{i % 8}", float(100 + (i * 37) % 900), i % 10 == 0)
        receipts.append(r)
        params[r.asset.cid] = {**SIZES[i % 3], "steps": 4 + (i % 5) * 10}
    return receipts, params


def _time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    receipts, params = _campaign(args.n)
    ratio = [DistilledRatio("model-0", "model-0-distilled", "0.3", "benchmark")]

    def baseline() -> None:
        acc: dict[str, list[int]] = {}
        for r in receipts:
            row = acc.setdefault(r.asset.model, [0, 0])
            row[0] += r.emissions.energy_mj
            row[1] += r.emissions.gross_mg

    base = _time(baseline, 5)
    full = _time(lambda: campaign_insights(receipts, params, distilled=ratio), 5)
    table = default_table()
    calls = 20_000
    find = _time(lambda: [table.find("image-generation", "sdxl", "acme")
                          for _ in range(calls)], 3) / calls
    est = _time(lambda: [estimate_cloud_request("image-generation", "sdxl", "acme")
                         for _ in range(calls)], 3) / calls
    print(json.dumps({
        "insights": {"receipts": args.n, "campaign_insights_s": round(full, 4),
                     "per_receipt_us": round(full / args.n * 1e6, 2),
                     "baseline_dict_sum_s": round(base, 4), "ratio": round(full / base, 1)},
        "cloud": {"estimate_us": round(est * 1e6, 2), "baseline_find_us": round(find * 1e6, 2),
                  "ratio": round(est / find, 1)},
    }, indent=2))


if __name__ == "__main__":
    main()
