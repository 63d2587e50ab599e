"""How long after the blur that leaving causes does the page report it is going? Sets the snippet's LEAVE_MS.

    .venv/bin/python bench/leave_blur.py --runs 20

A visitor half-types an email (type=email, so the field is invalid), then leaves by clicking a text link,
clicking the logo (an image link), clicking a link to a slow page (the server answers after --slow-ms), or
switching tabs. The page (headless Debian Chromium, no snippet) stamps performance.now() at the field's
focusout and at pagehide / visibilitychange-hidden, and keeps the gap in localStorage for the next page.
Prints p50 / p95 / max of the gap per way of leaving. Back button and closing the tab blur nothing.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PAGE = b"""<!doctype html><html><body>
<a id="logo" href="/next"><img alt="logo" width="40" height="20" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></a>
<a id="text" href="/next">Pricing</a> <a id="slow" href="/slow">Slow page</a>
<form><input id="email" type="email" name="email"></form>
<script>
  let blurAt = 0;
  const keep = (what) => localStorage.setItem("gap", what + ":" + (performance.now() - blurAt).toFixed(1));
  document.addEventListener("focusout", () => (blurAt = performance.now()), true);
  addEventListener("pagehide", () => keep("pagehide"));
  document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && keep("hidden"));
</script></body></html>"""


def serve(slow_ms: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path == "/slow":
                time.sleep(slow_ms / 1000)
            body = PAGE if self.path == "/" else b"<!doctype html><p>next</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def hide_tab(page) -> None:
    # Headless Chromium never hides a page: emulate what a tab switch does (the field blurs, then the page hides).
    page.evaluate(
        """() => { document.activeElement.blur();
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
            document.dispatchEvent(new Event("visibilitychange")); }"""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--slow-ms", type=int, default=400)
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = serve(options.slow_ms)
    base = f"http://127.0.0.1:{server.server_port}"
    ways = {"text link": "#text", "logo link": "#logo", f"link to a {options.slow_ms} ms page": "#slow", "tab switch": None}
    gaps: dict[str, list[float]] = {way: [] for way in ways}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(options.runs):
            for way, selector in ways.items():
                page = browser.new_page()
                page.goto(base + "/")
                page.click("#email")
                page.keyboard.type("jane.doe-at", delay=20)
                if selector is None:
                    hide_tab(page)
                else:
                    page.click(selector)
                    page.wait_for_url("**/" + ("slow" if "ms page" in way else "next"))
                what, gap = page.evaluate("localStorage.getItem('gap')").split(":")
                gaps[way].append(float(gap))
                page.evaluate("localStorage.clear()")
                page.close()
        browser.close()
    server.shutdown()
    print(f"blur → page leaving, ms, {options.runs} runs each (headless Chromium, loopback server)")
    for way, values in gaps.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(f"  {way:<28} p50 {statistics.median(values):7.1f}   p95 {p95:7.1f}   max {values[-1]:7.1f}")


if __name__ == "__main__":
    main()
