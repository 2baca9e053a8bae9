"""Verify-test fixtures: one labelled campaign (single and batch settlements) per session."""

from __future__ import annotations

import pytest

from tests.verify.campaign import Campaign, build_campaign


@pytest.fixture(scope="session")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    """Two single-mode and three batch-mode assets, settled and labelled (do not modify)."""
    return build_campaign(tmp_path_factory.mktemp("campaign"))
