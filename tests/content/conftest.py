"""Sample files for the content tests, generated once per session (deterministic bytes)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from xcr_py.content.unixfs import CHUNK_SIZE, MAX_LINKS

KIB = 1024
MIB = 1024 * KIB

SIZES: dict[str, int] = {
    "empty": 0,
    "one_byte": 1,
    "one_chunk": CHUNK_SIZE,
    "chunk_plus_one": CHUNK_SIZE + 1,
    "one_mib": MIB,
    "ten_mib": 10 * MIB,
    # exactly 174 leaves: one full node; one byte more: two levels, the second subtree a
    # node with a single leaf
    "full_level": MAX_LINKS * CHUNK_SIZE,
    "full_level_plus_one": MAX_LINKS * CHUNK_SIZE + 1,
    # more than 174 leaves: the root is two levels above the leaves (~44 MiB)
    "two_level": MAX_LINKS * CHUNK_SIZE + 3 * CHUNK_SIZE + 12345,
}
_PATTERN = 4 * MIB + 7  # big files repeat a random block of odd length: no two chunks alike


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One file per entry of :data:`SIZES`, pseudo-random content (seeded by its name)."""
    folder = tmp_path_factory.mktemp("content-samples")
    files = {}
    for name, size in SIZES.items():
        path = folder / f"{name}.bin"
        block = random.Random(name).randbytes(min(size, _PATTERN))
        with path.open("wb") as f:
            for start in range(0, size, len(block) or 1):
                f.write(block[: size - start])
        files[name] = path
    return files
