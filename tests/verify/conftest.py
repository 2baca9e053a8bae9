"""Verify-test fixtures: one labelled campaign (single and batch settlements) per session."""

from __future__ import annotations

import pytest

from tests.verify.campaign import Campaign, build_campaign


@pytest.fixture(scope="session")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    """Single mode: two PNGs, a JPEG and a WAV (sidecar); batch mode: three PNGs. Settled and
    labelled; tests must not modify it (copy files first)."""
    return build_campaign(tmp_path_factory.mktemp("campaign"), extra=("jpeg", "wav"))
