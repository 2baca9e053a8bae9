"""The receipt's JSON Schema, generated from the models and committed beside them.

Regenerate after changing :mod:`xcr_py.receipt.model`::

    python3 -m xcr_py.receipt.schema

A test fails while the committed file differs from the generated one.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from xcr_py.receipt.model import Receipt

__all__ = ["SCHEMA_FILE", "generate_schema", "load_schema", "schema_text"]

SCHEMA_FILE = "receipt.schema.json"
SCHEMA_URI = "https://xcr.dev/schemas/xcr.receipt/1.json"


def generate_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of ``xcr.receipt/1`` from the pydantic models.

    The schema covers shapes and limits; the arithmetic between the integers is checked by
    :func:`xcr_py.receipt.parse_receipt`, which a verifier must also run.
    """
    schema = Receipt.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_URI,
        **schema,
    }


def schema_text() -> str:
    """The schema as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(generate_schema(), indent=2, sort_keys=True) + "\n"


def load_schema() -> dict[str, Any]:
    """The committed schema file, as shipped in the package."""
    text = resources.files("xcr_py.receipt").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def main(argv: list[str] | None = None) -> int:
    """Write the generated schema next to this module (or to the path given)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path(__file__).with_name(SCHEMA_FILE)
    target.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
