"""Drive Debian's headless Chromium over the DevTools protocol, for tests.

``open_page(path)`` loads a built page from disk with no network, waits for
maps and charts to draw, and returns what a reviewer needs: every request the
page made, console errors, JavaScript dialogs (an ``alert`` from a stop name
would show up here), the number of Leaflet paths and Plotly traces drawn
(inside map iframes too), and a screenshot.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,1600"]


@dataclass
class PageResult:
    url: str
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    leaflet_paths: int = 0
    leaflet_maps: int = 0
    plotly_traces: int = 0
    plotly_charts: int = 0
    want_charts: int = 0
    want_maps: int = 0
    text: str = ""
    screenshot: Path | None = None

    @property
    def remote_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:", "about:", "blob:"))]


class Browser:
    def __init__(self):
        import websocket

        if CHROMIUM is None:
            raise RuntimeError("chromium not installed")
        self.profile = tempfile.mkdtemp(prefix="cb-chromium-")
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}",
                                      "--remote-debugging-port=0", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        import urllib.request

        targets = []
        for _ in range(100):
            try:
                targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json").read())
                if any(t["type"] == "page" for t in targets):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self._id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params):
        self._id += 1
        mid = self._id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg: dict) -> None:
        self.events.append(msg)
        if msg.get("method") == "Page.javascriptDialogOpening":
            # dismiss so the page goes on; the dialog is recorded as a finding
            self._id += 1
            self.ws.send(json.dumps({"id": self._id, "method": "Page.handleJavaScriptDialog",
                                     "params": {"accept": True}}))

    def pump(self, seconds: float) -> None:
        end = time.time() + seconds
        self.ws.settimeout(0.1)
        while time.time() < end:
            try:
                self._event(json.loads(self.ws.recv()))
            except Exception:  # noqa: BLE001 - timeout
                pass
        self.ws.settimeout(30)

    def evaluate(self, expr: str):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        return r.get("result", {}).get("value")

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


_COUNT_JS = r"""
(() => {
  const docs = [document];
  for (const f of document.querySelectorAll('iframe')) {
    try { if (f.contentDocument) docs.push(f.contentDocument); } catch (e) {}
  }
  let paths = 0, maps = 0, traces = 0, charts = 0;
  for (const d of docs) {
    maps += d.querySelectorAll('.leaflet-container').length;
    paths += d.querySelectorAll('.leaflet-overlay-pane path').length;
    // canvas renderer: count drawn layers through Leaflet's own registry
    const w = d.defaultView;
    if (w && w.L) {
      for (const k of Object.keys(w)) {
        const v = w[k];
        if (v && v instanceof w.L.Map) {
          v.eachLayer(l => { if (l instanceof w.L.Path) paths += 1; });
        }
      }
    }
    for (const p of d.querySelectorAll('.js-plotly-plot')) {
      charts += 1;
      traces += p.querySelectorAll('.trace').length;
    }
  }
  const want_charts = document.querySelectorAll('.cb-plotly').length;
  const want_maps = document.querySelectorAll('figure.cb-map iframe').length;
  return {paths, maps, traces, charts, want_charts, want_maps,
          text: document.body ? document.body.innerText : ''};
})()
"""


def open_page(path: Path, *, wait: float = 4.0, timeout: float = 30.0,
              screenshot: Path | None = None) -> PageResult:
    """Load ``path`` (a built HTML file) and report what it did.

    Waits at least ``wait`` seconds, then until every chart and map on the
    page has drawn (or ``timeout`` seconds in all), so a loaded machine does
    not make the checks flaky.
    """
    b = Browser()
    try:
        url = Path(path).resolve().as_uri()
        b.call("Page.navigate", url=url)
        b.pump(wait)
        start = time.time()
        while True:
            counts = b.evaluate(_COUNT_JS) or {}
            done = (counts.get("charts", 0) >= counts.get("want_charts", 0)
                    and counts.get("maps", 0) >= counts.get("want_maps", 0)
                    and (counts.get("want_charts", 0) == 0 or counts.get("traces", 0) > 0))
            if done or time.time() - start > timeout - wait:
                break
            b.pump(0.5)
        res = PageResult(url=url)
        for e in b.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Network.requestWillBeSent":
                res.requests.append(p["request"]["url"])
            elif m == "Network.loadingFailed":
                res.failed.append(f"{p.get('errorText')} ({p.get('requestId')})")
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                res.console_errors.append(d.get("exception", {}).get("description") or d.get("text", ""))
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                res.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                res.console_errors.append(p["entry"].get("text", "") + " " + p["entry"].get("url", ""))
            elif m == "Page.javascriptDialogOpening":
                res.dialogs.append(p.get("message", ""))
        res.leaflet_paths = counts.get("paths", 0)
        res.leaflet_maps = counts.get("maps", 0)
        res.plotly_traces = counts.get("traces", 0)
        res.plotly_charts = counts.get("charts", 0)
        res.want_charts = counts.get("want_charts", 0)
        res.want_maps = counts.get("want_maps", 0)
        res.text = counts.get("text", "")
        if screenshot is not None:
            h = b.evaluate("Math.min(document.documentElement.scrollHeight, 8000)") or 1600
            b.call("Emulation.setDeviceMetricsOverride", width=1280, height=int(h), deviceScaleFactor=1, mobile=False)
            b.pump(0.5)
            data = b.call("Page.captureScreenshot", format="png")["data"]
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(data))
            res.screenshot = screenshot
        return res
    finally:
        b.close()


def evaluate_page(path: Path, expression: str, *, wait: float = 3.0, timeout: float = 30.0):
    """Load ``path`` like :func:`open_page`, wait for its charts and maps, and
    return the value of the JavaScript ``expression`` (JSON-able)."""
    b = Browser()
    try:
        b.call("Page.navigate", url=Path(path).resolve().as_uri())
        b.pump(wait)
        start = time.time()
        while True:
            counts = b.evaluate(_COUNT_JS) or {}
            done = (counts.get("charts", 0) >= counts.get("want_charts", 0)
                    and counts.get("maps", 0) >= counts.get("want_maps", 0))
            if done or time.time() - start > timeout - wait:
                break
            b.pump(0.5)
        b.pump(0.5)
        return b.evaluate(expression)
    finally:
        b.close()


if __name__ == "__main__":  # manual use: python tests/browser.py PAGE.html [shot.png]
    import sys

    r = open_page(Path(sys.argv[1]), screenshot=Path(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(json.dumps({k: v for k, v in r.__dict__.items() if k != "text"}, default=str, indent=1))
