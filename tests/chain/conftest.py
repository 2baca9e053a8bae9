"""Contract-test fixtures: one XCR deployment per backend (embedded eth-tester, anvil, ganache).

anvil and ganache are started by the shared session fixtures ``anvil_node`` / ``ganache_node``
(tests/fixtures/nodes.py); each backend gets one module-scoped deployment, and tests use fresh
random asset digests so they do not depend on each other.
"""

from __future__ import annotations

import pytest

from tests.chain.helpers import Env, make_env
from xcr_py.chain import connect, dev_private_keys

BACKENDS = ("embedded", "anvil", "ganache")


@pytest.fixture(scope="module", params=BACKENDS)
def env(request: pytest.FixtureRequest) -> Env:
    """A fresh deployment on each backend."""
    backend = request.param
    if backend == "embedded":
        w3 = connect("embedded")
        keys = dev_private_keys(w3)
    else:
        node = request.getfixturevalue(f"{backend}_node")
        w3 = connect(node.url)
        keys = [k if isinstance(k, str) else "0x" + bytes(k).hex() for k in node.private_keys]
    return make_env(backend, w3, keys)


@pytest.fixture(scope="module")
def embedded_env() -> Env:
    """A deployment on the embedded chain only (property tests)."""
    w3 = connect("embedded")
    return make_env("embedded", w3, dev_private_keys(w3))
