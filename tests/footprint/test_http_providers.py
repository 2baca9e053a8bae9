"""Electricity Maps and WattTime adapters against a local HTTP server serving sample responses."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from xcr_py.errors import FootprintError, InputError
from xcr_py.footprint import ElectricityMapsIntensity, WattTimeIntensity, watttime_login

RECORDED = Path(__file__).parent / "recorded"
TOKEN = "t0ken-s3cret"


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, dict[str, list[str]], dict[str, str]]]] = []
    status = 200

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        headers = {k.lower(): v for k, v in self.headers.items()}
        type(self).requests.append((url.path, query, headers))
        files = {
            "/v3/carbon-intensity/latest": "electricitymaps_latest_DE.json",
            "/v3/carbon-intensity/past": "electricitymaps_past_DE_estimated.json",
            "/v3/forecast": "watttime_forecast_CAISO_NORTH.json",
            "/v3/historical": "watttime_historical_CAISO_NORTH.json",
        }
        authorised = (self.headers.get("auth-token") == TOKEN
                      or self.headers.get("Authorization") in (f"Bearer {TOKEN}",
                                                               "Basic dXNlcjpwYXNz"))
        if url.path == "/login" and authorised:
            body = json.dumps({"token": TOKEN}).encode()
        elif url.path == "/broken":
            body = b"<html>not json"
        elif url.path in files and authorised and type(self).status == 200:
            body = (RECORDED / files[url.path]).read_bytes()
        else:
            self.send_response(type(self).status if type(self).status != 200 else 401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.requests = []
    _Handler.status = 200
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_electricity_maps_latest(server):
    factor = ElectricityMapsIntensity(server, TOKEN).intensity("DE")
    assert factor.value == 302 and factor.unit == "gCO2e/kWh"
    assert factor.method == "dataset"
    assert "Electricity Maps API v3, zone DE, 2024-05-21T12:00:00.000Z, lifecycle" in factor.source
    path, query, headers = _Handler.requests[-1]
    assert path == "/v3/carbon-intensity/latest" and query["zone"] == ["DE"]
    assert headers["auth-token"] == TOKEN


def test_electricity_maps_past_estimated_is_labelled(server):
    when = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    factor = ElectricityMapsIntensity(server, TOKEN).intensity("DE", when)
    assert factor.value == 415 and factor.method == "estimated"
    assert "TIME_SLICER_AVERAGE" in factor.note
    _, query, _ = _Handler.requests[-1]
    assert query["datetime"] == ["2024-03-01T12:30:00Z"]


def test_watttime_forecast_converts_lbs_per_mwh_exactly(server):
    factor = WattTimeIntensity(server, TOKEN).intensity("CAISO_NORTH")
    assert factor.value == Decimal("870.0") * Decimal("0.45359237")  # 394.6253619 g/kWh
    assert "co2_moer (marginal)" in factor.source


def test_watttime_historical_picks_point_at_or_before(server):
    when = datetime(2024, 3, 1, 12, 3, tzinfo=UTC)
    factor = WattTimeIntensity(server, TOKEN).intensity("CAISO_NORTH", when)
    assert factor.value == Decimal("453.59237")  # the 12:00 point, 1000 lbs/MWh
    _, query, headers = _Handler.requests[-1]
    assert query["start"] == ["2024-03-01T11:58:00Z"] and query["end"] == ["2024-03-01T12:08:00Z"]
    assert headers["authorization"] == f"Bearer {TOKEN}"


def test_watttime_login(server):
    assert watttime_login(server, "user", "pass") == TOKEN


def test_rejected_token_is_a_clear_error_without_the_token(server):
    with pytest.raises(FootprintError, match=r"HTTP 401 \(token rejected\)") as info:
        ElectricityMapsIntensity(server, "wrong-token").intensity("DE")
    assert "wrong-token" not in str(info.value)


def test_server_error_and_unreachable(server):
    _Handler.status = 503
    with pytest.raises(FootprintError, match="HTTP 503"):
        WattTimeIntensity(server, TOKEN).intensity("CAISO_NORTH")
    with pytest.raises(FootprintError, match="cannot reach"):
        ElectricityMapsIntensity("http://127.0.0.1:9", TOKEN, timeout_s=2).intensity("DE")


def test_inputs_are_checked():
    with pytest.raises(InputError, match=r"electricitymaps\.token"):
        ElectricityMapsIntensity("http://x", "")
    with pytest.raises(InputError, match="zone"):
        WattTimeIntensity("http://x", "t").intensity(None)
    with pytest.raises(InputError, match="when"):
        ElectricityMapsIntensity("http://x", "t").intensity("DE", datetime(2024, 1, 1))
