"""Each endpoint of ``xcr serve`` against a demo deployment: happy paths and errors."""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serve.conftest import UPLOAD_LIMIT_MB, Served, tree_digest
from xcr_py.embed import embed, extract
from xcr_py.receipt.label import ImpactLabel

PROBLEM = "application/problem+json"
CAMPAIGN = "xcr-demo-spring"


def _problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc = response.json()
    assert doc["status"] == status and doc["title"] and doc["instance"]
    if slug is not None:
        assert doc["type"] == f"urn:xcr:problem:{slug}", doc
    return doc


def _label(path: Path) -> tuple[ImpactLabel, bytes]:
    return extract(path.read_bytes())


def _asset_cid(served: Served, index: int) -> str:
    cid = served.demo.assets[index].result.asset_cid
    assert cid is not None
    return cid


def _flip_idat_byte(data: bytes) -> bytes:
    """One image byte changed inside IDAT, CRC fixed (as an editor would save it)."""
    out = bytearray(data)
    pos = 8
    while pos < len(out):
        length = int.from_bytes(out[pos:pos + 4], "big")
        if bytes(out[pos + 4:pos + 8]) == b"IDAT":
            out[pos + 8 + length // 2] ^= 0x01
            crc = zlib.crc32(bytes(out[pos + 4:pos + 8 + length]))
            out[pos + 8 + length:pos + 12 + length] = crc.to_bytes(4, "big")
            return bytes(out)
        pos += 12 + length
    raise AssertionError("no IDAT chunk")


# --- POST /v1/verify -----------------------------------------------------------------------

def test_verify_upload_gives_the_cli_verdict(served: Served, client: httpx.Client) -> None:
    path = served.demo.assets[0].path
    r = client.post("/v1/verify", files={"file": (path.name, path.read_bytes(), "image/png")})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    doc = r.json()
    links = doc.pop("links")
    cli = dict(served.cli_verdict)
    assert doc["path"] == path.name
    cli["path"] = path.name
    assert doc == cli
    assert doc["ok"] is True and doc["mode"] == "batch"
    label, _ = _label(path)
    assert links["receipt_ipfs"] == f"ipfs://{label.receipt_cid}"
    assert links["receipt_api"] == f"/v1/receipts/{label.token_id}"
    assert links["asset_api"] == f"/v1/assets/{_asset_cid(served, 0)}"
    assert links["token_explorer"] is None  # the demo configures no explorer


def test_verify_tampered_image_fails_at_receipt_asset(served: Served,
                                                      client: httpx.Client) -> None:
    label, original = _label(served.demo.assets[1].path)
    tampered = embed(_flip_idat_byte(original), label)
    r = client.post("/v1/verify", files={"file": ("edited.png", tampered, "image/png")})
    assert r.status_code == 200
    doc = r.json()
    assert doc["ok"] is False and doc["failed_step"] == "receipt_asset"
    assert [s["name"] for s in doc["steps"]] == ["label", "asset_cid", "receipt",
                                                 "receipt_asset"]


def test_verify_tampered_label_token_fails_on_chain(served: Served,
                                                    client: httpx.Client) -> None:
    label, original = _label(served.demo.assets[2].path)
    other = served.demo.assets[0].label.token_id
    forged = ImpactLabel(**{**label.__dict__, "token_id": other ^ 1})
    r = client.post("/v1/verify", files={"file": ("forged.png", embed(original, forged))})
    doc = r.json()
    assert r.status_code == 200 and doc["ok"] is False
    assert doc["failed_step"] == "token"


def test_verify_malformed_file_fails_at_label(client: httpx.Client) -> None:
    r = client.post("/v1/verify", files={"file": ("x.png", b"\x89PNG\r\n\x1a\nnot really")})
    assert r.status_code == 200
    doc = r.json()
    assert doc["ok"] is False and doc["failed_step"] == "label" and doc["links"] is None
    assert doc["path"] == "x.png"


def test_verify_empty_or_missing_file_is_a_422_problem(client: httpx.Client) -> None:
    doc = _problem(client.post("/v1/verify", files={"file": ("e.png", b"")}), 422,
                   "invalid-input")
    assert doc["errors"] == [{"field": "file", "problem": doc["errors"][0]["problem"]}]
    assert "0 bytes" in str(doc["detail"])
    doc = _problem(client.post("/v1/verify", data={"other": "x"}), 422, "invalid-request")
    assert any(e["field"] == "body.file" for e in doc["errors"])


def test_oversized_upload_is_413_before_reading(client: httpx.Client) -> None:
    big = os.urandom(UPLOAD_LIMIT_MB * 1024 * 1024 + 1)
    doc = _problem(client.post("/v1/verify", files={"file": ("big.png", big)}), 413,
                   "too-large")
    assert f"at most {UPLOAD_LIMIT_MB * 1024 * 1024} bytes" in str(doc["detail"])


def test_oversized_chunked_upload_is_cut_off_with_413(served: Served) -> None:
    chunk = b"\0" * 65536

    def body():  # a valid multipart stream without Content-Length: counted as it streams
        yield (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
               b"Content-Type: application/octet-stream\r\n\r\n")
        for _ in range(UPLOAD_LIMIT_MB * 16 + 4):
            yield chunk
        yield b"\r\n--xyz--\r\n"

    with httpx.Client(base_url=served.url, timeout=60) as c:
        r = c.post("/v1/verify", content=body(),
                   headers={"content-type": "multipart/form-data; boundary=xyz"})
    _problem(r, 413, "too-large")


# --- GET /v1/assets/{cid} ------------------------------------------------------------------

def test_asset_label_data_and_verification(served: Served, client: httpx.Client) -> None:
    for i, asset in enumerate(served.demo.assets):
        cid = _asset_cid(served, i)
        r = client.get(f"/v1/assets/{cid}")
        assert r.status_code == 200, r.text
        doc = r.json()
        label = asset.label
        assert doc["cid"] == cid and doc["campaign"] == CAMPAIGN
        assert doc["receipt_cid"] == label.receipt_cid
        assert doc["settlement"]["token_id"] == str(label.token_id)
        assert doc["settlement"]["mode"] == "batch"
        assert doc["label"]["gross"] == {"value": label.gross_mg, "unit": "mg CO2e",
                                         "source": "receipt emissions.gross_mg",
                                         "method": "estimated"}
        assert doc["label"]["removed"]["value"] == label.removed_mg
        assert doc["label"]["permanence"]["value"] == label.permanence_years
        assert doc["label"]["retirement_status"] == "pending"
        v = doc["verification"]
        assert v["ok"] is True and v["path"] == f"store:{cid}"
        assert [s["name"] for s in v["steps"]][-1] == "batch_totals"
        assert doc["links"]["badge"] == f"/v1/badge/{cid}.svg"


def test_asset_caching_headers_and_304(served: Served, client: httpx.Client) -> None:
    r = client.get(f"/v1/assets/{_asset_cid(served, 0)}")
    assert r.headers["cache-control"] == "public, max-age=30, must-revalidate"  # pending
    etag = r.headers["etag"]
    again = client.get(f"/v1/assets/{_asset_cid(served, 0)}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag


def test_unknown_and_malformed_cid(client: httpx.Client) -> None:
    unknown = "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    doc = _problem(client.get(f"/v1/assets/{unknown}"), 404, "asset-not-found")
    assert unknown in str(doc["detail"])
    for bad in ("definitely-not-a-cid", "short", unknown.upper(), unknown[:-1] + "b",
                "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"):
        # Not a CIDv1 base32 sha2-256 CID (wrong case, non-zero pad bits, CIDv0): 422 naming
        # the field and the pattern it must match, never a 404 or a 500.
        doc = _problem(client.get(f"/v1/assets/{bad}"), 422, "invalid-request")
        assert doc["errors"][0]["field"] == "path.cid", doc
        assert "pattern" in str(doc["detail"])
    _problem(client.get(f"/v1/badge/{unknown}.svg"), 404, "asset-not-found")


# --- badge ---------------------------------------------------------------------------------

def test_badge_is_the_demo_badge(served: Served, client: httpx.Client) -> None:
    asset = served.demo.assets[3]
    r = client.get(f"/v1/badge/{_asset_cid(served, 3)}.svg")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.text == asset.badge.read_text(encoding="utf-8")
    assert r.headers["cache-control"].startswith("public, max-age=30")
    assert client.get(f"/v1/badge/{_asset_cid(served, 3)}.svg",
                      headers={"If-None-Match": r.headers["etag"]}).status_code == 304


# --- receipts and retirements ---------------------------------------------------------------

def test_receipt_token_and_its_batch_document(served: Served, client: httpx.Client) -> None:
    label = served.demo.assets[0].label
    r = client.get(f"/v1/receipts/{label.token_id}")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["token_id"] == str(label.token_id) and doc["mode"] == "batch"
    assert doc["locked"] is True and doc["contract"] == label.receipt_contract
    batch = doc["document"]
    assert batch["schema"] == "xcr.batch/1"
    assert _asset_cid(served, 0) in [leaf["asset_cid"] for leaf in batch["leaves"]]
    assert doc["gross"] == {"value": batch["gross_mg"], "unit": "mg CO2e",
                            "source": f"CarbonReceipt.record({label.token_id})",
                            "method": "on-chain"}
    assert doc["removed"]["value"] >= label.removed_mg
    same = client.get(f"/v1/receipts/{hex(label.token_id)}").json()
    assert same == doc


def test_receipt_errors(client: httpx.Client) -> None:
    _problem(client.get("/v1/receipts/12345"), 404, "token-not-found")
    _problem(client.get("/v1/receipts/12abc"), 422, "invalid-request")
    doc = _problem(client.get(f"/v1/receipts/{2**256}"), 422, "invalid-input")
    assert "2**256" in str(doc["detail"])


def test_retirement(served: Served, client: httpx.Client) -> None:
    label = served.demo.assets[0].label
    rid = client.get(f"/v1/receipts/{label.token_id}").json()["retirement_id"]
    r = client.get(f"/v1/retirements/{rid}")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["retirement_id"] == rid and doc["status"] == "pending"
    assert doc["retired"]["unit"] == "g CO2e" and doc["retired"]["value"] * 1000 >= label.gross_mg
    assert doc["credit_batch"]["method"] == label.removal_method
    assert doc["credit_batch"]["registry"].startswith("XCR DEMO REGISTRY")
    _problem(client.get("/v1/retirements/999999"), 404, "retirement-not-found")
    _problem(client.get("/v1/retirements/-1"), 422, "invalid-request")


# --- campaigns ------------------------------------------------------------------------------

def test_campaign_totals_and_report_json(served: Served, client: httpx.Client) -> None:
    r = client.get(f"/v1/campaigns/{CAMPAIGN}")
    assert r.status_code == 200, r.text
    doc = r.json()
    labels = [a.label for a in served.demo.assets]
    assert doc["assets"] == len(labels) == len(doc["items"])
    assert doc["totals"]["gross"]["value"] == sum(lab.gross_mg for lab in labels)
    assert doc["totals"]["gross"]["unit"] == "mg CO2e"
    report = doc["report"]
    assert report["schema"] == "xcr.report/1" and report["campaign"] == CAMPAIGN
    assert report["totals"]["verified"] == len(labels)
    assert {i["cid"] for i in doc["items"]} == {_asset_cid(served, i) for i in range(4)}
    _problem(client.get("/v1/campaigns/no-such-campaign"), 404, "campaign-not-found")


def test_campaign_report_html_is_self_contained(client: httpx.Client) -> None:
    r = client.get(f"/v1/campaigns/{CAMPAIGN}/report")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<svg" in html and CAMPAIGN in html
    assert "src=\"http" not in html and "<link" not in html
    _problem(client.get("/v1/campaigns/no-such-campaign/report"), 404, "campaign-not-found")


# --- viewer, routing, document --------------------------------------------------------------

def test_viewer_page_loads_nothing_external(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "sha256-" in csp
    assert "http://" not in r.text and "https://" not in r.text
    assert 'id="file"' in r.text and "/v1/verify" in r.text


def test_unknown_route_and_method_are_problems(client: httpx.Client) -> None:
    _problem(client.get("/v2/nothing"), 404)
    for page in ("/docs", "/redoc"):  # FastAPI's pages would load scripts from a CDN
        _problem(client.get(page), 404)
    _problem(client.delete(f"/v1/campaigns/{CAMPAIGN}"), 405)


def _listeners(port: int) -> list[str]:
    """Local addresses (hex, as the kernel writes them) listening on TCP ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.append(address)
    return found


def test_server_binds_loopback_only(served: Served) -> None:
    """Started without --host, the server listens on 127.0.0.1 and nothing else."""
    port = int(served.url.rsplit(":", 1)[1])
    listeners = _listeners(port)
    assert listeners == ["0100007F"], listeners  # 127.0.0.1, little-endian hex


# --- read-only ------------------------------------------------------------------------------

def test_no_endpoint_writes_anything(served: Served, client: httpx.Client) -> None:
    """Every endpoint, uploads included: the deployment's files are byte-identical afterwards."""
    label = served.demo.assets[0].label
    cid = _asset_cid(served, 0)
    path = served.demo.assets[0].path
    for url in (f"/v1/assets/{cid}", f"/v1/badge/{cid}.svg", f"/v1/receipts/{label.token_id}",
                "/v1/retirements/1", f"/v1/campaigns/{CAMPAIGN}",
                f"/v1/campaigns/{CAMPAIGN}/report", "/"):
        assert client.get(url).status_code == 200, url
    sidecar = json.dumps({"not": "a label"}).encode()
    for files in ({"file": (path.name, path.read_bytes())},
                  {"file": ("a.wav", b"RIFF0000WAVE"), "sidecar": ("a.wav.xcr.json", sidecar)}):
        assert client.post("/v1/verify", files=files).status_code == 200
    assert tree_digest(served.demo.out_dir) == served.before


def test_read_only_middleware_refuses_writes() -> None:
    from web3 import Web3

    from xcr_py.errors import ChainError
    from xcr_py.serve.backend import ReadOnlyMiddleware

    middleware = ReadOnlyMiddleware(Web3())
    for method in ("eth_sendTransaction", "eth_sendRawTransaction", "eth_sign", "evm_mine",
                   "anvil_setBalance", "personal_unlockAccount"):
        with pytest.raises(ChainError, match="read-only"):
            middleware.request_processor(method, [])
    assert middleware.request_processor("eth_call", [{}]) == ("eth_call", [{}])
