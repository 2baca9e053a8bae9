"""Suite-wide pytest configuration.

Shared fixtures live in ``tests/fixtures/`` (one module per real component: chain nodes,
IPFS daemon, fake NVML, ...) and are registered here so every test package can use them.
"""

pytest_plugins: list[str] = [
    "tests.fixtures.nodes",
    "tests.fixtures.ipfs",
    "tests.fixtures.fake_nvml",
]
