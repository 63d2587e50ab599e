"""What the snippet sends for the browser tests' visitors, before and after a change of the snippet: the traces side by side.

    .venv/bin/python bench/capture_scenarios.py --before d5e12a1

Runs each scenario of tests/formrecap/test_snippet_capture_browser.py (the same pages and visitors) in headless
Debian Chromium twice: with the snippet as committed at ``--before`` and with the working tree's. Batches are
caught at the page (no server), joined per session, and written in the trace language by the server's own
normaliser; the "before" run reads a ``"validation": null`` as no reason, as the server did then. Prints, per
scenario, the events that decide the lifecycle (submit / exit / hide / show) and the trace.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formrecap.settings")

ORIGIN = "http://formrecap.test"
SNIPPET = "formrecap/snippet/v1/formrecap.js"


def leave(page, *, after_ms: int = 0) -> None:
    """The page going away, as the snippet sees it (pagehide), while the page still lives: a beacon sent during a
    real unload bypasses Playwright's routing, so it could not be caught here (the browser tests use a real server)."""
    page.evaluate(f"setTimeout(() => dispatchEvent(new PageTransitionEvent('pagehide')), {after_ms})")
    page.wait_for_timeout(after_ms + 300)


def scenarios():
    from tests.formrecap import test_snippet_capture_browser as t

    def custom(page):
        t.type_into(page, "#email", "jane.doe")
        t.type_into(page, "#name", "Jo")
        t.type_into(page, "#phone", "0612")
        leave(page)

    def cancelled(page):
        t.type_into(page, "#card", "4111")
        t.type_into(page, "#zip", "75011")
        page.click("button[type=submit]")
        t.type_into(page, "#card", "1111")
        page.click("button[type=submit]")
        page.wait_for_timeout(400)
        leave(page)

    def spa(page):
        t.type_into(page, "#email", "jane@example.org")
        page.click("button")
        page.wait_for_timeout(300)
        leave(page)

    def hidden(page):
        t.type_into(page, "#email", "jane@example.org")
        t.hide_tab(page)
        page.clock.fast_forward(8000)
        t.show_tab(page)
        t.type_into(page, "#name", "Jane")
        page.clock.fast_forward(6000)

    def leaving(page):
        t.type_into(page, "#work", "jane.doe-at")
        t.type_into(page, "#home", "jane.do")
        # the click blurs the field and follows the link; pagehide comes ~30 ms later (bench/leave_blur.py)
        page.evaluate("logo.addEventListener('click', (e) => e.preventDefault())")
        page.click("#logo")
        leave(page, after_ms=30)

    return [
        ("custom validity, no reason named", t.CUSTOM_VALIDATION, custom, False),
        ("script-validated form, submit cancelled twice", t.SCRIPT_VALIDATED, cancelled, False),
        ("single-page app, formrecap.submitted", t.SPA.replace("MODE", "'call'"), spa, False),
        ("tab hidden 8 s, then back", t.CUSTOM_VALIDATION, hidden, True),
        ("half-typed email, leaves by the logo", t.LINKS, leaving, False),
    ]


def _serving(body: str, content_type: str):
    return lambda route: route.fulfill(body=body, content_type=content_type)


def _catching(batches: list[dict]):
    def ingest(route):
        batches.append(json.loads(route.request.post_data))
        route.fulfill(status=202, body="{}", content_type="application/json")

    return ingest


def run(snippet: str, *, old_server: bool) -> list[tuple[str, list[str], str]]:
    from playwright.sync_api import sync_playwright

    from classifier.trace import normalise_events, serialise_trace
    from tests.formrecap import test_snippet_capture_browser as t
    from tests.formrecap.test_snippet_browser import CHROMIUM, CHROMIUM_ARGS

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for name, body, visitor, clock in scenarios():
            context = browser.new_context()
            batches: list[dict] = []

            html = t.PAGE.format(key="pk_bench", body=body)
            context.route(f"{ORIGIN}/api/v1/ingest/", _catching(batches))
            context.route(f"{ORIGIN}/snippet/v1/formrecap.js", _serving(snippet, "text/javascript"))
            context.route(f"{ORIGIN}/t/form", _serving(html, "text/html"))
            context.route(f"{ORIGIN}/t/next", _serving("<p>next</p>", "text/html"))
            page = context.new_page()
            if clock:  # the absence runs on Playwright's fake clock
                page.clock.install()
            page.goto(f"{ORIGIN}/t/form")
            page.wait_for_function("window.formrecap")
            visitor(page)
            page.wait_for_timeout(500)
            context.close()
            events = [e for b in sorted(batches, key=lambda b: b["seq"]) for e in b["events"]]
            if old_server:
                events = [{k: v for k, v in e.items() if not (k == "validation" and v is None)} for e in events]
            lifecycle = [e["type"] for e in events if e["type"] in ("submit", "exit", "hide", "show")]
            results.append((name, lifecycle, serialise_trace(normalise_events(events)) if events else "(nothing sent)"))
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="d5e12a1", help="the commit whose snippet is 'before'")
    options = parser.parse_args()
    import django

    django.setup()
    before = subprocess.run(
        ["git", "show", f"{options.before}:{SNIPPET}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    after = (REPO / SNIPPET).read_text()
    for (name, old_life, old_trace), (_, new_life, new_trace) in zip(
        run(before, old_server=True), run(after, old_server=False), strict=True
    ):
        print(
            f"## {name}\n  before: {' '.join(old_life) or '-'}\n    {old_trace}\n  after:  {' '.join(new_life) or '-'}\n    {new_trace}\n"
        )


if __name__ == "__main__":
    main()
