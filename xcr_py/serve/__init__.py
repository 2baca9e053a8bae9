"""``xcr serve``: a read-only HTTP API over XCR's receipts, labels and verifications.

::

    from xcr_py.serve import create_app
    app = create_app(config)                  # opens the store and the chain once
    uvicorn.run(app, host="127.0.0.1", port=8080)

Routes: ``POST /v1/verify`` (multipart upload -> the ``xcr verify --json`` verdict),
``GET /v1/assets/{cid}``, ``/v1/receipts/{token_id}``, ``/v1/retirements/{id}``,
``/v1/campaigns/{id}``, ``/v1/campaigns/{id}/report``, ``/v1/badge/{cid}.svg`` and the viewer
at ``/``. Errors are RFC 9457 problem details. See ``docs/serve.md``.
"""

from xcr_py.serve.app import build_app, create_app, openapi_document
from xcr_py.serve.backend import Backend
from xcr_py.serve.limits import DEFAULT_MAX_BODY_BYTES, Limits

__all__ = ["DEFAULT_MAX_BODY_BYTES", "Backend", "Limits", "build_app", "create_app",
           "openapi_document"]
