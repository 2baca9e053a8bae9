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
    # more than 174 leaves: the root is two levels above the leaves (~44 MiB)
    "two_level": MAX_LINKS * CHUNK_SIZE + 3 * CHUNK_SIZE + 12345,
}


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One file per entry of :data:`SIZES`, pseudo-random content (seeded by its name)."""
    folder = tmp_path_factory.mktemp("content-samples")
    files = {}
    for name, size in SIZES.items():
        path = folder / f"{name}.bin"
        path.write_bytes(random.Random(name).randbytes(size))
        files[name] = path
    return files
