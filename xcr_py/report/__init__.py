"""Campaign sustainability report: self-contained ``report.html``, ``report.json``, ``report.csv``.

::

    from xcr_py.report import write_report
    paths = write_report("xcr-demo", config, out="xcr-demo/report")

See ``docs/report.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from xcr_py.config import XcrConfig
from xcr_py.content.store import BlockStore
from xcr_py.errors import InputError
from xcr_py.report.build import EXPLORER_FIELDS, explorer_link, report_document
from xcr_py.report.collect import CampaignData, collect_campaign
from xcr_py.report.render import CSV_COLUMNS, render_csv, render_html
from xcr_py.verify import ChainView
from xcr_py.verify.sources import open_chain, open_verify_store

__all__ = ["CSV_COLUMNS", "EXPLORER_FIELDS", "CampaignData", "build_report", "collect_campaign",
           "explorer_link", "render_csv", "render_html", "report_document", "write_report"]

REPORT_FILES = ("report.html", "report.json", "report.csv")


def build_report(campaign: str | os.PathLike[str], config: XcrConfig, *,
                 store: BlockStore | None = None, chain: ChainView | None = None,
                 exclude: Path | None = None) -> dict[str, Any]:
    """The report document for the labelled assets under ``campaign``."""
    the_store = store if store is not None else open_verify_store(config)
    with ExitStack() as stack:
        view = chain if chain is not None else open_chain(config, stack)
        data = collect_campaign(campaign, config, store=the_store, chain=view, exclude=exclude)
        return report_document(data, config.explorer_url)


def write_report(campaign: str | os.PathLike[str], config: XcrConfig, *,
                 out: str | os.PathLike[str] | None = None, store: BlockStore | None = None,
                 chain: ChainView | None = None) -> list[Path]:
    """Build and write the three report files into ``out`` (default ``<campaign>/report``).

    The files are written to a temporary folder beside ``out`` and moved in only once all three
    are complete, so a failure leaves no half-written report.

    Raises:
        InputError: ``campaign`` is not a folder of labelled assets, or ``out`` is a file.
    """
    target = Path(out) if out is not None else Path(campaign) / "report"
    if target.exists() and not target.is_dir():
        raise InputError("out", f"{target} exists and is not a directory")
    doc = build_report(campaign, config, store=store, chain=chain, exclude=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".report-", dir=target.parent))
    try:
        (tmp / "report.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        (tmp / "report.csv").write_text(render_csv(doc))
        (tmp / "report.html").write_text(render_html(doc))
        target.mkdir(exist_ok=True)
        for name in REPORT_FILES:
            os.replace(tmp / name, target / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [target / name for name in REPORT_FILES]
