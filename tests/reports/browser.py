"""A small headless-Chromium driver for the report tests: the DevTools protocol over a pipe.

``chromium --remote-debugging-pipe`` reads protocol commands from fd 3 and writes replies and
events to fd 4, NUL-separated JSON. That needs nothing beyond the standard library (no
websocket client), and it sees what a page cannot hide from itself: every network request,
every console message and uncaught exception, and real screenshots.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--no-default-browser-check",
    "--disable-sync", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    """The browser, or a skip (a failure where ``make test`` demands the browser)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    reason = "chromium is not installed (`make test` installs Debian's chromium package)"
    if os.environ.get("GRADSIGHT_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


class Browser:
    def __init__(self, profile: Path) -> None:
        cmd_read, self._cmd_write = os.pipe()
        self._out_read, out_write = os.pipe()

        def wire_fds() -> None:  # in the child: the pipes become fds 3 and 4
            a, b = os.dup(cmd_read), os.dup(out_write)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [chromium_path(), *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds, close_fds=False,
        )
        os.close(cmd_read)
        os.close(out_write)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: "queue.Queue[dict[str, Any]]" = queue.Queue()
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._out_read, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._cond.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._replies[message["id"]] = message
                        self._cond.notify_all()
                else:
                    self._events.put(message)

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 60) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._cmd_write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while ident not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"no reply to {method} (browser exit {self.proc.poll()})")
                self._cond.wait(min(left, 0.5))
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def events(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_write, self._out_read):
            try:
                os.close(fd)
            except OSError:
                pass


class Page:
    """One tab: load a URL, wait for the report's ready flag, inspect what happened."""

    def __init__(self, browser: Browser, width: int = 1400, height: int = 1000) -> None:
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.target = target
        self.session = browser.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.log: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def load(self, url: str, ready: str = "document.body && document.body.dataset.gsReady",
             timeout: float = 60) -> float:
        """Navigate and wait until ``ready`` is "1"; returns the seconds it took."""
        start = time.monotonic()
        self.send("Page.navigate", {"url": url})
        while time.monotonic() - start < timeout:
            if self.evaluate(ready) == "1":
                return time.monotonic() - start
            time.sleep(0.05)
        raise TimeoutError(f"{url} was not ready within {timeout}s")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def collect(self) -> None:
        self.log.extend(e for e in self.browser.events() if e.get("sessionId") == self.session)

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        self.collect()
        out = []
        for e in self.log:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:500])
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args", []))[:500])
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", ""))
        return out

    def requests(self) -> list[str]:
        self.collect()
        return [e["params"]["request"]["url"] for e in self.log
                if e["method"] == "Network.requestWillBeSent"]

    def screenshot(self) -> bytes:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        return base64.b64decode(data)

    def close(self) -> None:
        try:
            self.browser.send("Target.closeTarget", {"targetId": self.target}, timeout=10)
        except (RuntimeError, TimeoutError):
            pass
