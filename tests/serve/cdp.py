"""Drive Debian chromium headless over the Chrome DevTools Protocol (CDP) on a websocket.

The report test only needs ``--dump-dom``; the viewer test has to choose a file in an
``<input type=file>`` and wait for a fetch, which needs a live page: :class:`Browser` starts
chromium with ``--remote-debugging-port=0``, attaches to its page, and records every console
message, uncaught exception and network request the page makes.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--remote-debugging-port=0",
         "--remote-allow-origins=*")


@dataclass
class PageLog:
    """What the page did: console messages, uncaught exceptions, requested URLs."""

    console: list[tuple[str, str]] = field(default_factory=list)
    """(level, text) of console API calls and browser log entries."""
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions."""
        return [t for level, t in self.console if level == "error"] + self.exceptions


class Browser:
    """One headless chromium with one page, controlled over CDP.

    Args:
        binary: the chromium executable.
        width, height: the viewport, CSS pixels.
    """

    def __init__(self, binary: str, width: int = 1200, height: int = 1600) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="xcr-chromium-")
        profile = Path(self._profile.name)
        # stderr to a file (a pipe nobody drains would fill and stall chromium).
        self._stderr = (profile / "stderr.log").open("wb")
        self._process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile / 'profile'}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True)
        self.log = PageLog()
        self._ids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._stack = ExitStack()
        try:
            port = self._devtools_port(timeout_s=60)
            pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
            page = next(p for p in pages if p.get("type") == "page")
            # websockets >= 17.1 wants the connection used as a context manager.
            self._ws = self._stack.enter_context(connect(
                page["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024, open_timeout=30))
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, timeout_s: float) -> int:
        # chromium writes the port it chose to <profile>/DevToolsActivePort once it listens.
        active = Path(self._profile.name) / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if active.is_file():
                first = active.read_text().split("\n", 1)[0].strip()
                if first.isdigit():
                    return int(first)
            if self._process.poll() is not None:
                break
            time.sleep(0.1)
        log = (Path(self._profile.name) / "stderr.log").read_bytes()[-2000:]
        raise AssertionError(f"chromium did not open its DevTools port: {log!r}")

    def _record(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in
                            params.get("args", []))
            self.log.console.append((str(params.get("type")), text))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.log.exceptions.append(str(details.get("exception", {}).get(
                "description", details.get("text"))))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.log.console.append((str(entry.get("level")), str(entry.get("text"))))
        elif method == "Network.requestWillBeSent":
            self.log.requests.append(str(params.get("request", {}).get("url")))

    def call(self, method: str, timeout_s: float = 60, **params: Any) -> dict[str, Any]:
        """Send one CDP command and return its result (events seen meanwhile are recorded)."""
        assert self._ws is not None
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout_s
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"CDP {method}: {message['error']}")
                return message.get("result", {})
            self._record(message)

    def wait_event(self, method: str, timeout_s: float = 60) -> dict[str, Any]:
        """Wait for the next CDP event ``method`` (others are recorded)."""
        assert self._ws is not None
        deadline = time.monotonic() + timeout_s
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self._record(message)
            if message.get("method") == method:
                return message.get("params", {})

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 60) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expression}")
            time.sleep(0.1)

    def navigate(self, url: str) -> None:
        """Open ``url`` and wait for its load event."""
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def choose_file(self, selector: str, path: Path) -> None:
        """Set the file of an ``<input type=file>`` as a person choosing it would (fires change)."""
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        assert node, f"no element {selector}"
        self.call("DOM.setFileInputFiles", nodeId=node, files=[str(path.resolve())])

    def screenshot(self, path: Path) -> None:
        """Save the whole page as PNG."""
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))

    def close(self) -> None:
        """Stop chromium and remove its profile."""
        self._stack.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        # Its helpers (zygote, GPU, crashpad) may outlive the browser process and still be
        # writing into the profile: stop the whole session before removing it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._stderr.close()
        for attempt in range(20):
            try:
                self._profile.cleanup()
                return
            except OSError:  # a helper's last write raced the removal
                if attempt == 19:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
