"""Fixtures of the contract state machine: one snapshotted deployment per backend.

anvil is this module's own instance (not the session-wide ``anvil_node``): the machine reverts to
its snapshot before every example, which must never rewind another test's chain.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fuzz.driver import EmbeddedDriver, RpcDriver
from tests.fuzz.world import World, build_world
from xcr_py.chain import connect, dev_private_keys
from xcr_py.chain.nodes import start_anvil


@pytest.fixture(scope="module")
def anvil_world() -> Iterator[World]:
    """A deployment on a private anvil, snapshotted."""
    node = start_anvil()
    driver = RpcDriver(node.url)
    try:
        yield build_world(connect(node.url), list(node.private_keys), driver)
    finally:
        driver.close()
        node.stop()


@pytest.fixture(scope="module")
def embedded_world() -> World:
    """A deployment on the embedded eth-tester chain, snapshotted."""
    w3 = connect("embedded")
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    return build_world(w3, dev_private_keys(w3), EmbeddedDriver(tester, int(w3.eth.chain_id)))
