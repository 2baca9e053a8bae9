"""Exact placement of single-hour, single-GPU jobs: a min-cost assignment (transportation).

Each (region, hour) slot with ``c`` free GPUs becomes ``c`` identical columns (at most as many
as jobs that can use it); each job is a row; one private "unplaced" column per job costs more
than any placement, so the solver first places as many jobs as possible, then minimises total
cost. Solved with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from xcr_py.errors import InputError

__all__ = ["MAX_CELLS", "min_cost_assignment"]

MAX_CELLS = 4_000_000
"""Largest cost matrix (jobs x slot copies) the exact method builds (about 32 MB)."""

Candidate = tuple[int, int, float]  # (region row, hour, cost in mg)


def min_cost_assignment(
    candidates: Sequence[Sequence[Candidate]], free: np.ndarray
) -> dict[int, tuple[int, int]]:
    """Assign each job (index into ``candidates``) to at most one candidate slot.

    ``free[row, hour]`` GPUs are available per slot. Returns job index -> (row, hour) for the
    placed jobs: the most jobs possible, and among those the least total cost.
    """
    demand: dict[tuple[int, int], int] = {}
    for options in candidates:
        for row, hour, _ in options:
            demand[(row, hour)] = demand.get((row, hour), 0) + 1
    columns: dict[tuple[int, int], list[int]] = {}
    width = 0
    for slot, wanted in demand.items():
        copies = min(int(free[slot]), wanted)
        if copies > 0:
            columns[slot] = list(range(width, width + copies))
            width += copies
    jobs = len(candidates)
    cells = jobs * (width + jobs)
    if cells > MAX_CELLS:
        raise InputError(
            "method", f"exact needs jobs x slot copies <= {MAX_CELLS:,}, got {cells:,}"
        )
    finite = [c for options in candidates for _, _, c in options]
    unplaced = 2.0 * (sum(abs(c) for c in finite) + 1.0)
    matrix = np.full((jobs, width + jobs), np.inf)
    matrix[np.arange(jobs), width + np.arange(jobs)] = unplaced
    for job, options in enumerate(candidates):
        for row, hour, cost in options:
            for column in columns.get((row, hour), ()):
                matrix[job, column] = cost
    rows, cols = linear_sum_assignment(matrix)
    slot_of = {column: slot for slot, cols_ in columns.items() for column in cols_}
    return {int(r): slot_of[int(c)] for r, c in zip(rows, cols, strict=True) if c < width}
