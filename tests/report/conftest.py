"""Report-test fixtures: a labelled campaign (single + batch) and Debian chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.verify.campaign import Campaign, build_campaign

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "report"


@pytest.fixture(scope="session")
def report_campaign(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    """Three single-mode and four batch-mode assets, settled and labelled (do not modify)."""
    return build_campaign(tmp_path_factory.mktemp("report-campaign"), single=3, batch=4)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The headless browser (Debian ``chromium``; scripts/test.sh installs it)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).is_file(), "Debian chromium is required: apt-get install -y chromium"
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/report (gitignored): screenshots kept for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
