"""Pipeline-test fixtures: an XCR deployment on the session's anvil node.

anvil's accounts 6..9 are used here (0..5 belong to the contract tests of the same session):
6 admin/registrar, 7-8 oracles, 9 submitter.
"""

from __future__ import annotations

import pytest

from tests.client.helpers import System, deploy_system
from xcr_py.chain import connect
from xcr_py.chain.nodes import LocalNode


@pytest.fixture(scope="module")
def anvil_system(anvil_node: LocalNode) -> System:
    """Contracts deployed on anvil with an eligible DAC credit batch."""
    w3 = connect(anvil_node.url)
    return deploy_system(w3, list(anvil_node.private_keys[6:10]))
