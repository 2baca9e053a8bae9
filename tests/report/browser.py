"""Run Debian chromium headless on a local file: rendered DOM, screenshot, console messages."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--enable-logging=stderr", "--v=0")
_CONSOLE = re.compile(r"INFO:CONSOLE[^\]]*\] (.*)")


def run_chromium(binary: str, page: Path, *, screenshot: Path | None = None,
                 dump_dom: bool = False, size: str = "1200,2600") -> tuple[str, list[str]]:
    """(stdout, console messages) of one headless chromium run on ``page``."""
    with tempfile.TemporaryDirectory() as profile:
        args = [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}"]
        if screenshot is not None:
            args.append(f"--screenshot={screenshot}")
        if dump_dom:
            args.append("--dump-dom")
        done = subprocess.run([*args, page.resolve().as_uri()], capture_output=True,
                              text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    console = _CONSOLE.findall(done.stderr)
    console += [line for line in done.stderr.splitlines() if "Uncaught" in line
                and "CONSOLE" not in line]
    return done.stdout, console
