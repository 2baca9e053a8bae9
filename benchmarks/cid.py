#!/usr/bin/env python3
"""CID benchmark: throughput against hashlib.sha256 over the same bytes, and peak memory.

Run from the repository root::

    python3 benchmarks/cid.py [--mib 256] [--memory-gib 1]

1. Throughput: a ``--mib`` MiB file of random bytes is hashed by ``file_cid`` (CIDv1,
   raw leaves) and by a plain streaming ``hashlib.sha256`` (same 256 KiB reads), each run
   interleaved with alternating order, best of ``--repeat``, timed in
   process CPU time (user + sys), so other processes on a shared machine do not skew it.
   Target: ratio CID/sha256 >= 0.85.
2. Memory: a child process computes the CID of a ``--memory-gib`` GiB sparse file and reports
   its peak RSS (``ru_maxrss``) above the RSS it had right before, plus tracemalloc's peak.
   Target: < 64 MiB above baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from xcr_py.content import file_cid
from xcr_py.content.unixfs import CHUNK_SIZE

MIB = 1024 * 1024

_CHILD = r"""
import resource, sys, tracemalloc
from xcr_py.content import file_cid
path = sys.argv[1]
base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
cid = file_cid(path)
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
top_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(cid, base_kib, top_kib, peak)
"""


def sha256_file(path: Path) -> str:
    """The baseline: stream the file through hashlib.sha256 with the same 256 KiB reads."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK_SIZE)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def throughput(path: Path, repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` CPU seconds for (file_cid, sha256), runs interleaved."""
    best = {"cid": float("inf"), "sha": float("inf")}
    runs = {"cid": lambda: file_cid(path), "sha": lambda: sha256_file(path)}
    sha256_file(path)  # warm the page cache
    for i in range(repeat):
        # Alternate which goes first: on a shared machine, load spikes hit either side.
        for name in ("cid", "sha") if i % 2 == 0 else ("sha", "cid"):
            # CPU time (user + sys) of this process: other tenants of a shared machine
            # cannot inflate it the way they inflate wall-clock time.
            t = time.process_time()
            runs[name]()
            best[name] = min(best[name], time.process_time() - t)
    return best["cid"], best["sha"]


def memory(gib: int, folder: Path) -> tuple[str, float, float]:
    """(cid, MiB of peak RSS above baseline, MiB tracemalloc peak) for a sparse ``gib`` GiB file."""
    path = folder / "sparse.bin"
    with path.open("wb") as f:
        f.truncate(gib * 1024 * MIB)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    cid, base_kib, top_kib, peak = out[0], int(out[1]), int(out[2]), int(out[3])
    print(f"  child RSS: {base_kib / 1024:.1f} MiB after imports, {top_kib / 1024:.1f} MiB peak")
    return cid, (top_kib - base_kib) / 1024, peak / MIB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--memory-gib", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xcr-bench-cid-") as tmp:
        folder = Path(tmp)
        data_file = folder / "random.bin"
        with data_file.open("wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(MIB))
            f.flush()
            os.fsync(f.fileno())  # no write-back running under the timed loops
        t_cid, t_sha = throughput(data_file, args.repeat)
        size_mb = args.mib * MIB / 1e6
        ratio = t_sha / t_cid
        print(f"throughput on {args.mib} MiB (CPU time, best of {args.repeat}, page cache warm):")
        print(f"  file_cid (CIDv1 raw leaves): {size_mb / t_cid:8.1f} MB/s")
        print(f"  hashlib.sha256 baseline:     {size_mb / t_sha:8.1f} MB/s")
        print(f"  ratio CID/sha256:            {ratio:8.3f}   (target >= 0.85)")
        data_file.unlink()
        cid, rss_mib, traced_mib = memory(args.memory_gib, folder)
        print(f"memory for a {args.memory_gib} GiB file ({cid}):")
        print(f"  peak RSS above baseline:     {rss_mib:8.1f} MiB (target < 64)")
        print(f"  tracemalloc peak:            {traced_mib:8.1f} MiB")
        ok = ratio >= 0.85 and rss_mib < 64
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
