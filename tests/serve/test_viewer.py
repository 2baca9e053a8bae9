"""The viewer (``GET /``) in headless Debian chromium: choose a demo image, see the verdict.

The page is driven over the DevTools protocol (tests/serve/cdp.py): the demo image goes into
the page's file input, the page posts it to ``/v1/verify``, and the test reads the verdict and
the steps the page shows, then a tampered copy. Screenshots are kept in
``test-artifacts/serve/`` (gitignored).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.cdp import Browser
from tests.serve.conftest import Served
from tests.serve.test_api import _flip_idat_byte, _label
from xcr_py.embed import embed

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "serve"

SHOWN = """JSON.stringify({
  state: document.getElementById("verdict").dataset.state,
  verdict: document.getElementById("verdict").textContent,
  steps: [...document.querySelectorAll("#steps li")].map(li => ({
    name: li.dataset.step, result: li.dataset.result,
    title: li.querySelector(".title").textContent.trim(),
    numbers: li.querySelectorAll("table.numbers tr").length})),
  links: [...document.querySelectorAll("#links div")].map(d => d.textContent)})"""


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian ``chromium`` (scripts/test.sh installs it)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).is_file(), "Debian chromium is required: apt-get install -y chromium"
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """One headless chromium page for the module."""
    with Browser(chromium) as b:
        yield b


def _shown(browser: Browser, file_name: str) -> dict[str, Any]:
    import json

    # The page shows "Verifying <name> ..." (state working) until the answer arrives.
    browser.wait_for(
        "['pass','fail','error'].includes(document.getElementById('verdict').dataset.state)"
        f" && document.getElementById('verdict').textContent.includes({json.dumps(file_name)})")
    return json.loads(browser.evaluate(SHOWN))


def test_viewer_verifies_a_demo_image_step_by_step(served: Served, browser: Browser,
                                                   tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.navigate(served.url + "/")
    assert browser.evaluate("document.title") == "XCR receipt viewer"

    image = served.demo.assets[0].path
    browser.choose_file("#file", image)
    shown = _shown(browser, image.name)
    browser.screenshot(ARTIFACTS / "viewer-verified.png")

    cli = served.cli_verdict
    assert shown["state"] == "pass", shown
    assert shown["verdict"] == f"Verified ({cli['mode']} mode): {image.name}"
    cli_steps = cli["steps"]
    assert isinstance(cli_steps, list)
    assert [(s["name"], s["result"]) for s in shown["steps"]] == [
        (s["name"], "pass") for s in cli_steps]
    assert [s["title"] for s in shown["steps"]] == [s["title"] for s in cli_steps]
    assert [s["numbers"] for s in shown["steps"]] == [len(s["numbers"]) for s in cli_steps]
    label, _ = _label(image)
    assert f"Receipt on IPFS: ipfs://{label.receipt_cid}" in shown["links"]
    assert "Token on the block explorer: not configured" in shown["links"]

    # A tampered copy: same label, one image byte changed. The page says where it failed.
    tampered = tmp_path / "edited.png"
    other_label, original = _label(served.demo.assets[1].path)
    tampered.write_bytes(embed(_flip_idat_byte(original), other_label))
    browser.choose_file("#file", tampered)
    shown = _shown(browser, "edited.png")
    browser.screenshot(ARTIFACTS / "viewer-tampered.png")
    assert shown["state"] == "fail", shown
    assert shown["verdict"] == "Not verified: failed at step 'receipt_asset' (edited.png)"
    assert [(s["name"], s["result"]) for s in shown["steps"]][-1] == ("receipt_asset", "fail")

    # Nothing went wrong in the page, and it reached nothing but this server.
    assert browser.log.errors() == [], browser.log.console
    assert browser.log.requests, "no request recorded"
    outside = [u for u in browser.log.requests
               if not u.startswith((served.url + "/", "data:", "blob:", "about:"))]
    assert outside == [], outside
    assert browser.log.requests.count(served.url + "/v1/verify") == 2
    assert (ARTIFACTS / "viewer-verified.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
