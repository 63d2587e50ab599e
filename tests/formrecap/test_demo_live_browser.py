"""The live demo in headless Chromium: a visitor fills the seeded demo form, fails a validation, switches tabs and
leaves; the panel beside the form shows the live reading within about two seconds, then the stored provisional one.

The real snippet, ingest API, reading endpoint and (small) embedded model, with eager Celery as in the embedded
setup. Screenshots go to var/screenshots/ (git-ignored) for a person to look at.
"""

import re
import time
from pathlib import Path

import pytest

from classifier.models import Prediction
from formrecap.demo import demo_seed
from formrecap.models import FormSession, Site
from tests.formrecap.test_snippet_browser import browser, stored_events, switch_tab_away, wait_for  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PERCENT = re.compile(r"^\d{1,3}\.\d %$")
# The panel's budget from the visitor's action to its reading on screen: a 500 ms flush, a 700 ms poll, the model.
PANEL_SECONDS = 2.5
# A person's pace and rhythm: keystrokes 15 ms apart (Playwright's usual), or evenly spaced, are read, rightly, as a bot.
KEYSTROKE_GAPS_MS = (110, 180, 95, 240, 150, 130, 310, 120, 170, 205)


def panel(page) -> dict:
    return page.evaluate(
        """() => ({
            badge: document.getElementById("r-badge").textContent,
            status: document.getElementById("r-status").textContent,
            verdict: document.getElementById("r-class").textContent,
            numbers: [...document.querySelectorAll("#reading td.num")].map((td) => td.textContent),
            rows: [...document.querySelectorAll("#reading th[scope=row]")].map((th) => th.textContent),
            top: [...document.querySelectorAll("#reading tr.top th")].map((th) => th.textContent),
            reason: document.getElementById("r-reason").textContent,
            meta: document.getElementById("r-meta").textContent,
            admin: document.getElementById("r-admin").hidden ? null : document.getElementById("r-admin").getAttribute("href"),
        })"""
    )


def type_into(page, selector: str, text: str) -> None:
    page.click(selector)
    page.wait_for_timeout(400)
    for i, char in enumerate(text):
        page.keyboard.type(char)
        page.wait_for_timeout(KEYSTROKE_GAPS_MS[i % len(KEYSTROKE_GAPS_MS)])


def shows_a_reading(page) -> bool:
    shown = panel(page)
    return shown["verdict"] != "—" and len(shown["numbers"]) == 6 and all(PERCENT.match(n) for n in shown["numbers"])


@pytest.fixture
def demo_site(live_server) -> Site:
    creds = demo_seed(origins=[live_server.url], username="demo", password="pw-demo-live-1234")
    return Site.all_tenants.get(site_key=creds.site_key)


def test_the_panel_follows_the_visitor_and_shows_the_stored_provisional_reading(
    browser,  # noqa: F811
    live_server,
    demo_site,
    active_embedded_model,
):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server.url}/demo/")
        page.wait_for_function("window.formrecap && typeof window.formrecap.sessionId === 'function'")
        assert page.evaluate("formrecap.sessionId()") is None  # no session before the first field
        assert panel(page)["status"] == "Start filling the form."

        type_into(page, "#email", "jane.doe-at-example")
        type_into(page, "#password", "short1")
        page.click("button[type=submit]")  # the browser refuses: a validation failure on each failing field
        clicked = time.monotonic()
        sessions = FormSession.objects.for_tenant(demo_site.tenant).filter(site=demo_site)

        def failure_on_screen() -> bool:
            session = sessions.filter(session_uuid=page.evaluate("formrecap.sessionId()")).first()
            # the submit's own failure (leaving the bad email already was one)
            failed = session is not None and any(e.get("validation") == "too_short" for e in stored_events(demo_site, session))
            return failed and shows_a_reading(page) and panel(page)["meta"].startswith(f"{session.event_count} events")

        wait_for(page, failure_on_screen, timeout=PANEL_SECONDS, what="the reading of the failed submit on the panel")
        session = sessions.get()
        print(f"reading of the failure on screen {time.monotonic() - clicked:.2f} s after the click")
        shown = panel(page)
        assert shown["badge"] == "provisional · live" and shown["status"] == "In progress"
        assert [row.split(" ", 1)[1] for row in shown["rows"]] == [
            "validation error", "distraction", "comparison shopping", "accidental exit", "bot", "committed leave",
        ]  # fmt: skip
        assert sum(float(n.split()[0]) for n in shown["numbers"]) == pytest.approx(100, abs=0.5)
        assert len(shown["top"]) == 1 and shown["top"][0].split(" ", 1)[1] == shown["verdict"].lower()
        assert shown["reason"] and shown["admin"] == f"/admin/formrecap/formsession/{session.pk}/change/"
        assert not Prediction.objects.for_tenant(demo_site.tenant).filter(session=session).exists()  # live: not stored

        switch_tab_away(page)  # the snippet sends the hide; the server stores a provisional reading at once
        wait_for(page, lambda: panel(page)["badge"] == "provisional", timeout=PANEL_SECONDS, what="the stored reading")
        [hidden] = Prediction.objects.for_tenant(demo_site.tenant).filter(session=session)
        assert hidden.final is False
        shown = panel(page)
        assert "(tab hidden)" in shown["status"] and shown["verdict"].lower() == hidden.label.replace("_", " ")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "demo_live.png", full_page=True)
        page.set_viewport_size({"width": 420, "height": 900})  # narrow: the panel goes below the form
        page.screenshot(path=SCREENSHOTS / "demo_live_narrow.png", full_page=True)

        page.goto("about:blank")  # leaving: the exit waits for the outreach delay with a provisional reading
        wait_for(page, lambda: FormSession.all_tenants.get(pk=session.pk).status == FormSession.Status.EXITED, what="the exit")
        session.refresh_from_db()
        # classified after the exit's commit: re-read with the exit, still provisional
        predictions = Prediction.objects.for_tenant(demo_site.tenant).filter(session=session)
        wait_for(page, lambda: predictions.get().events_seen == session.event_count, what="the reading of the exit")
        assert predictions.get().final is False
    finally:
        context.close()
    assert errors == [], f"the page threw: {errors}"
