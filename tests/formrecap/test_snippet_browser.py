"""The real snippet in headless Chromium against the live server: what arrives, and what never does.

A visitor types into the demo page's email, password and card fields, fails a validation,
idles and leaves (or submits). The session and its trace chunks must arrive with the right
events and status, and nothing the visitor typed may appear in any request the page sent
or in anything stored.
"""

import json
import time
from pathlib import Path

import pytest

from formrecap.models import FormSession, TraceChunk
from tests.factories import SiteFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")  # Debian's build: `make chromium`; never `playwright install`
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INGEST_PATH = "/api/v1/ingest/"

# Distinctive strings, so finding one in a body cannot be a coincidence.
BAD_EMAIL = "jane.doe-at-example"  # no "@": type=email fails with invalid_format
GOOD_EMAIL = "jane.doe@example.org"
PASSWORD = "Tr0ub4dor-horse-9"
CARD = "4929173850213467"
TYPED = (BAD_EMAIL, GOOD_EMAIL, PASSWORD, CARD)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (browser tests use the real thing)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread, which Django takes for an async
    # context and refuses ORM calls in; the test's own queries are plain synchronous ones.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(live_server):
    # The page is served by the live server itself, so that is the origin the browser sends.
    return SiteFactory(allowed_origins=[live_server.url])


@pytest.fixture
def visit(browser, live_server, site):
    """Opens the demo page for ``site``; returns (page, sent) where ``sent`` collects every ingest body."""
    context = browser.new_context()
    sent: list[str | None] = []

    def record(route):
        # Sees fetches and beacons while the page is alive; a beacon sent while the page unloads
        # bypasses routing, which is why stored chunks are checked as well.
        sent.append(route.request.post_data)
        route.continue_()

    context.route(f"**{INGEST_PATH}", record)
    refused: list[str] = []
    context.on("response", lambda r: INGEST_PATH in r.url and r.status >= 300 and refused.append(f"{r.status} {r.text()}"))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def open_demo():
        page.goto(f"{live_server.url}/demo/?site_key={site.site_key}")
        page.wait_for_function("window.formrecap && typeof window.formrecap.identify === 'function'")
        return page, sent

    yield open_demo
    context.close()
    assert errors == [], f"the page threw: {errors}"
    assert refused == [], f"the server refused batches: {refused}"


def wait_for_session(page, site, *, status: str, timeout: float = 15.0) -> FormSession:
    deadline = time.monotonic() + timeout
    while True:
        session = FormSession.objects.for_tenant(site.tenant).filter(site=site).first()
        # Leaving sends the last batches at once (keepalive fetch, beacon): the exit can land before a batch
        # sent just ahead of it, so wait for that one too.
        if session is not None and session.status == status and _seqs_complete(session):
            return session
        if time.monotonic() > deadline:
            seen = session.status if session else "no session"
            seqs = list(TraceChunk.all_tenants.filter(session=session).values_list("seq", flat=True)) if session else []
            pytest.fail(f"session did not become {status} with batches 0..n within {timeout:.0f} s ({seen}, {seqs})")
        # Not time.sleep: the sync API runs route handlers only while a Playwright call waits.
        page.wait_for_timeout(100)


def _seqs_complete(session: FormSession) -> bool:
    seqs = list(TraceChunk.all_tenants.filter(session=session).order_by("seq").values_list("seq", flat=True))
    return seqs == list(range(len(seqs)))


def wait_for(page, condition, *, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not met within {timeout:.0f} s")
        page.wait_for_timeout(100)


def stored_types(site) -> list[str]:
    chunks = TraceChunk.objects.for_tenant(site.tenant).filter(session__site=site).order_by("session_id", "seq")
    return [event["type"] for chunk in chunks for event in chunk.events]


def stored_events(site, session: FormSession) -> list[dict]:
    chunks = list(TraceChunk.objects.for_tenant(site.tenant).filter(session=session).order_by("seq"))
    # Every batch the snippet sent is there once, numbered from 0 without gaps.
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    return [event for chunk in chunks for event in chunk.events]


def assert_nothing_typed_leaked(site, session: FormSession, sent: list[str | None]) -> None:
    assert sent, "the page sent no ingest request that Playwright could see"
    assert None not in sent, "an ingest request body could not be read, so it could not be checked"
    stored = json.dumps([c.events for c in TraceChunk.objects.for_tenant(site.tenant).filter(session=session)])
    session_row = json.dumps([session.form_id, session.path, session.visitor_ref])
    for typed in TYPED:
        for body in sent:
            assert typed not in body, f"{typed!r} was sent to the server"
        assert typed not in stored and typed not in session_row, f"{typed!r} was stored"


def switch_tab_away(page) -> None:
    """What the page sees when the visitor switches tabs (headless Chromium never hides a page itself)."""
    page.evaluate(
        """() => {
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )


def type_into(page, selector: str, text: str) -> None:
    page.click(selector)
    page.keyboard.type(text, delay=15)


def test_abandoned_session_arrives_without_anything_typed(visit, site):
    page, sent = visit()

    type_into(page, "#email", BAD_EMAIL)
    type_into(page, "#password", PASSWORD)  # leaving the email: blur(invalid_format)
    page.focus("#company_size")  # focus without typing
    page.focus("input[name=terms]")  # a required field passed over: no validation error
    type_into(page, "#card_number", CARD[:12])
    page.wait_for_timeout(2600)  # idle
    page.hover("[data-formrecap-field=pricing_table]")  # activity again, then an informational region
    page.mouse.move(5, 5)
    page.goto("about:blank")  # leave: exit by beacon

    session = wait_for_session(page, site, status=FormSession.Status.ABANDONED)
    events = stored_events(site, session)
    assert (session.form_id, session.path) == ("signup", "/demo/")
    assert session.event_count == len(events)

    # Leaving a page may hide it first (its visibility changes during unload), then pagehide: the exit, last.
    assert {e["type"] for e in events} - {"hide"} == {"focus", "blur", "input", "scroll", "exit"}
    assert events[-1] == {"type": "exit", "ts": events[-1]["ts"]}
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)

    def count(kind: str, field: str) -> int:
        return sum(1 for e in events if e["type"] == kind and e.get("field") == field)

    # One input event per keystroke: the counts are all that travels.
    assert count("input", "email") == len(BAD_EMAIL)
    assert count("input", "password") == len(PASSWORD)
    assert count("input", "card_number") == 12
    assert count("input", "company_size") == 0 and count("focus", "company_size") == 1

    blurs = {e["field"]: e.get("validation") for e in events if e["type"] == "blur"}
    assert blurs["email"] == "invalid_format"
    assert blurs["password"] is None  # valid: a plain blur
    assert blurs["company_size"] is None and blurs["terms"] is None  # passed over: not an error
    assert count("focus", "pricing_table") == 1 and count("blur", "pricing_table") == 1

    idle = [e["duration_ms"] for e in events if e["type"] == "scroll"]
    assert idle and max(idle) >= 2000, events

    # Each focus says what the field is, from its HTML alone: the model needs no English names.
    kinds = {e["field"]: e.get("kind") for e in events if e["type"] == "focus"}
    assert kinds == {
        "email": "email", "password": "password", "company_size": "select", "terms": "checkbox", "card_number": "text",
        "pricing_table": "region",
    }  # fmt: skip

    assert_nothing_typed_leaked(site, session, sent)


def test_submitted_session_arrives_and_gets_no_exit(visit, site):
    page, sent = visit()

    type_into(page, "#email", GOOD_EMAIL)
    type_into(page, "#password", PASSWORD)
    page.select_option("#company_size", index=2)
    type_into(page, "#card_number", CARD)
    page.check("input[name=terms]")
    page.evaluate("formrecap.identify('crm-4821')")
    page.click("button[type=submit]")
    page.wait_for_selector("#thanks", state="visible")

    session = wait_for_session(page, site, status=FormSession.Status.SUBMITTED)
    page.goto("about:blank")  # leaving after a submit sends nothing more
    page.wait_for_timeout(500)
    session.refresh_from_db()
    events = stored_events(site, session)

    assert session.status == FormSession.Status.SUBMITTED and session.visitor_ref == "crm-4821"
    assert events[-1]["type"] == "submit" and "exit" not in {e["type"] for e in events}
    assert not any(e.get("validation") for e in events)
    assert sum(1 for e in events if e["type"] == "input" and e["field"] == "card_number") == len(CARD)
    assert sum(1 for e in events if e["type"] == "input" and e["field"] == "company_size") == 1  # name="companySize"
    assert_nothing_typed_leaked(site, session, sent)


def test_submit_blocked_by_validation_reports_each_failing_field(visit, site):
    page, sent = visit()

    type_into(page, "#email", GOOD_EMAIL)
    type_into(page, "#password", "short1")  # too short for minlength=10
    page.click("button[type=submit]")  # the browser refuses: the untouched required fields fail too
    page.wait_for_timeout(300)
    switch_tab_away(page)  # a hide by beacon while the page is alive, so Playwright sees that body too
    wait_for(page, lambda: stored_types(site).count("hide") == 1)
    assert FormSession.objects.for_tenant(site.tenant).get().status == FormSession.Status.IN_PROGRESS
    page.goto("about:blank")  # the page is gone: the exit
    session = wait_for_session(page, site, status=FormSession.Status.ABANDONED)

    events = stored_events(site, session)
    assert [e["type"] for e in events].count("exit") == 1
    reasons = {e["field"]: e["validation"] for e in events if e["type"] == "blur" and e.get("validation")}
    assert reasons == {"password": "too_short", "card_number": "required", "terms": "required"}
    assert "submit" not in {e["type"] for e in events}
    assert_nothing_typed_leaked(site, session, sent)
