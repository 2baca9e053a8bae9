"""The committed ``docs/openapi.json`` is the running app's document, and ``xcr serve
--openapi`` writes it (byte for byte) without opening a store or a chain."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx

from tests.serve.conftest import xcr_command
from xcr_py.serve import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
STALE = "docs/openapi.json is stale: run `xcr serve --openapi docs/openapi.json`"
PROBLEM = "application/problem+json"


def test_committed_document_is_the_running_apps(client: httpx.Client) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    served = client.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == committed, STALE


def test_xcr_serve_openapi_writes_the_committed_bytes(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    # An empty working directory and a config path that does not exist: --openapi must not
    # need (or create) a configuration, a store or a chain.
    env = {**os.environ, "XCR_CONFIG": str(tmp_path / "missing.toml")}
    done = subprocess.run([*xcr_command(), "serve", "--openapi", str(out)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == COMMITTED.read_bytes(), STALE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["openapi.json"]


def test_document_shape() -> None:
    """What clients rely on: read-only, problem details for every error, a multipart upload."""
    doc = openapi_document()
    methods = {(path, m) for path, ops in doc["paths"].items() for m in ops}
    assert {m for _, m in methods} == {"get", "post"}
    assert [p for p, m in methods if m == "post"] == ["/v1/verify"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if status[0] in "45":
                    assert list(response["content"]) == [PROBLEM], (path, method, status)
    body = doc["paths"]["/v1/verify"]["post"]["requestBody"]
    ref = body["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    form = doc["components"]["schemas"][ref]
    assert form["required"] == ["file"]
    assert form["properties"]["file"]["format"] == "binary"
    assert form["properties"]["file"]["minLength"] == 1
    assert "anyOf" not in form["properties"]["sidecar"]
    assert {"400", "413", "422"} <= set(doc["paths"]["/v1/verify"]["post"]["responses"])
