"""schemathesis (v4) against the running ``xcr serve``, driven by the committed OpenAPI document.

Every operation in ``docs/openapi.json`` gets a bounded number of generated requests, valid and
invalid; every response must be no server error (5xx) and must match the document (status code,
content type, headers and body schema). Random CIDs and token ids almost never exist, so the
demo's real identifiers are added to the document as parameter ``examples`` (non-normative; the
committed document itself is compared with the app in test_openapi): schemathesis then also
checks real 200 responses against the response schemas.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.serve.conftest import Served

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
MAX_EXAMPLES = 50
"""Per operation and generation phase; derandomized, so a CI run is repeatable."""
CAMPAIGN = "xcr-demo-spring"


def _with_examples(doc: dict[str, Any], examples: dict[str, list[Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for path in doc["paths"].values():
        for operation in path.values():
            for param in operation.get("parameters", []):
                values = examples.get(param["name"])
                if values:
                    param["schema"]["examples"] = values
    return doc


@pytest.fixture(scope="session")
def real_ids(served: Served) -> dict[str, list[Any]]:
    """Identifiers that exist in the demo deployment, by path parameter name."""
    cids = [str(a.result.asset_cid) for a in served.demo.assets]
    tokens = sorted({str(a.label.token_id) for a in served.demo.assets})
    with httpx.Client(base_url=served.url, timeout=60) as c:
        retirements = sorted({c.get(f"/v1/receipts/{t}").json()["retirement_id"] for t in tokens})
    return {"cid": cids, "token_id": tokens, "id": [*retirements, CAMPAIGN]}


@pytest.fixture(scope="session")
def api_schema(real_ids: dict[str, list[Any]]) -> schemathesis.BaseSchema:
    """The committed document with the demo's identifiers as examples."""
    doc = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return schemathesis.openapi.from_dict(_with_examples(doc, real_ids))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_document(case: schemathesis.Case, served: Served) -> None:
    case.call_and_validate(base_url=served.url, timeout=60)


def test_real_upload_conforms(api_schema: schemathesis.BaseSchema, served: Served) -> None:
    """A demo image uploaded as schemathesis builds a multipart body: 200, schema-valid."""
    path = served.demo.assets[0].path
    operation = api_schema["/v1/verify"]["POST"]
    body: Any = {"file": path.read_bytes()}  # raw bytes: the part is format binary
    case = operation.Case(body=body, media_type="multipart/form-data")
    response = case.call_and_validate(base_url=served.url, timeout=60)
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_real_resources_conform(api_schema: schemathesis.BaseSchema, served: Served,
                                real_ids: dict[str, list[Any]]) -> None:
    """Each read endpoint on an identifier that exists: 200 and valid against the document."""
    calls = [("/v1/assets/{cid}", {"cid": real_ids["cid"][0]}),
             ("/v1/badge/{cid}.svg", {"cid": real_ids["cid"][1]}),
             ("/v1/receipts/{token_id}", {"token_id": real_ids["token_id"][0]}),
             ("/v1/retirements/{id}", {"id": real_ids["id"][0]}),
             ("/v1/campaigns/{id}", {"id": CAMPAIGN}),
             ("/v1/campaigns/{id}/report", {"id": CAMPAIGN})]
    for path, params in calls:
        case = api_schema[path]["GET"].Case(path_parameters=params)
        response = case.call_and_validate(base_url=served.url, timeout=60)
        assert response.status_code == 200, (path, response.text)
