"""``xcr serve``: the read-only HTTP API and receipt viewer (FastAPI on uvicorn).

Bound to 127.0.0.1 unless ``--host`` says otherwise. The store and the chain are opened once at
start (the embedded chain admits one process: stop the server before running ``xcr verify``
on the same data directory). ``--openapi FILE`` writes the OpenAPI document and exits without
opening anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["register"]

_MAX_UPLOAD_MB = 1024


@click.command("serve")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="xcr.toml naming the store, the chain and explorer_url (default: "
                   "XCR_CONFIG or ./xcr.toml)")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to bind (loopback by default; the API has no authentication)")
@click.option("--port", type=int, default=8080, show_default=True, help="TCP port (0: any free)")
@click.option("--max-upload-mb", type=int, default=32, show_default=True,
              help="largest request body accepted, MiB; larger uploads get 413")
@click.option("--openapi", "openapi_file", type=click.Path(path_type=Path, dir_okay=False),
              help="write the OpenAPI document to this file and exit")
def serve_command(config_file: Path | None, host: str, port: int, max_upload_mb: int,
                  openapi_file: Path | None) -> None:
    """Serve receipts, labels and verifications over HTTP (read-only), with a viewer at /."""
    from xcr_py.errors import InputError

    try:
        from xcr_py.serve import Limits, create_app, openapi_document
    except ImportError as exc:
        raise InputError("serve", f"needs the 'serve' extra (pip install 'xcr[serve]'): "
                         f"{exc}") from None
    if openapi_file is not None:
        text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
        tmp = openapi_file.with_name(openapi_file.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(openapi_file)
        click.echo(f"wrote {openapi_file}")
        return
    if not 0 <= port <= 65_535:
        raise InputError("--port", f"must be in [0, 65535], got {port}")
    if not 1 <= max_upload_mb <= _MAX_UPLOAD_MB:
        raise InputError("--max-upload-mb", f"must be in [1, {_MAX_UPLOAD_MB}], got "
                         f"{max_upload_mb}")
    import uvicorn

    from xcr_py.config import from_environment

    config = from_environment(config_file)
    app = create_app(config, limits=Limits(max_body_bytes=max_upload_mb * 1024 * 1024))
    click.echo(f"xcr serve: http://{host}:{port}/ (read-only; Ctrl-C stops)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=5)


def register(cli: click.Group) -> None:
    """Add ``xcr serve`` to the root group."""
    cli.add_command(serve_command)
