"""The committed JSON Schema is up to date and accepts/rejects what the models do."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.receipt.examples import example_receipt
from xcr_py.receipt import receipt_document
from xcr_py.receipt.schema import load_schema, schema_text


def test_committed_schema_is_up_to_date() -> None:
    committed = json.dumps(load_schema(), indent=2, sort_keys=True) + "\n"
    assert committed == schema_text(), "run: python3 -m xcr_py.receipt.schema"


@pytest.mark.parametrize("changes", [{}, {"schedule": None, "batch": None}])
def test_examples_validate_against_schema(changes: dict[str, object]) -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(receipt_document(example_receipt(**changes)), schema,
                        cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(("path", "value"), [
    (("energy", "gpu_j"), -1),
    (("schema",), "xcr.receipt/2"),
    (("emissions", "gross_mg"), 1.5),
    (("asset", "extra"), 1),
    (("removal", "ratio_bps"), 9999),
])
def test_schema_rejects_bad_documents(path: tuple[str, ...], value: object) -> None:
    doc = receipt_document(example_receipt())
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)
