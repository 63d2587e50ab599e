"""The snippet in headless Chromium on forms written for these tests: what real pages do that the demo does not.

Custom validation without a named reason, a script-validated form that cancels its submit, single-page-app
submits, a tab hidden and shown again (or closed while hidden), the blur that leaving causes, and a visitor who
comes back another day. Pages are served on the live server's origin (Playwright fulfils their URLs), the
snippet and the ingest API are the real ones, and the site has the production outreach delay.

Headless Chromium never hides a page by itself: a tab switch is emulated as the browser does it, the focused
field blurs, ``document.visibilityState`` becomes ``hidden`` and ``visibilitychange`` fires (and the reverse on
return). Long absences run on Playwright's fake clock (``page.clock``), so the snippet's own timestamps jump.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from classifier.selectors import session_trace
from classifier.trace import serialise_trace
from formrecap.ingest.services import sweep_inactive_sessions
from formrecap.models import FormSession, default_outreach_delay
from recovery.models import ActionExecution
from recovery.services import recovery_rule_create
from tests.factories import SiteFactory
from tests.formrecap.test_snippet_browser import browser, stored_events, wait_for  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>test form</title>
<script src="/snippet/v1/formrecap.js" data-site-key="{key}" data-flush-ms="300"></script></head>
<body>{body}</body></html>"""


@pytest.fixture
def site(live_server):
    return SiteFactory(allowed_origins=[live_server.url], outreach_delay_seconds=default_outreach_delay())


@pytest.fixture
def context(browser, live_server):  # noqa: F811 (the browser fixture)
    context = browser.new_context()
    refused: list[str] = []
    context.on("response", lambda r: "/api/v1/ingest/" in r.url and r.status >= 300 and refused.append(f"{r.status} {r.text()}"))
    yield context
    context.close()
    assert refused == [], f"the server refused batches: {refused}"


@pytest.fixture
def open_form(context, live_server, site):
    """Serves ``body`` (with the snippet) at /t/<name> on the live server's origin and opens it in a new page."""
    errors: list[str] = []

    def open_(body: str, *, name: str = "form", clock: bool = False, page=None):
        html = PAGE.format(key=site.site_key, body=body)
        context.route(f"{live_server.url}/t/{name}", lambda route: route.fulfill(body=html, content_type="text/html"))
        context.route(f"{live_server.url}/t/next", lambda route: route.fulfill(body="<p>next page</p>", content_type="text/html"))
        page = page or context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if clock:
            page.clock.install()
        page.goto(f"{live_server.url}/t/{name}")
        page.wait_for_function("window.formrecap && typeof window.formrecap.submitted === 'function'")
        return page

    yield open_
    assert errors == [], f"the page threw: {errors}"


def only_session(page, site, **status) -> FormSession:
    wait_for(page, lambda: FormSession.objects.for_tenant(site.tenant).filter(site=site, **status).exists(), what=str(status))
    return FormSession.objects.for_tenant(site.tenant).get(site=site, **status)


def tokens(session: FormSession) -> list[str]:
    session.refresh_from_db()
    return serialise_trace(session_trace(session=session)).split(", ")


def hide_tab(page) -> None:
    page.evaluate(
        """() => { document.activeElement && document.activeElement.blur();
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
            document.dispatchEvent(new Event("visibilitychange")); }"""
    )


def show_tab(page) -> None:
    page.evaluate(
        """() => { Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
            document.dispatchEvent(new Event("visibilitychange")); }"""
    )


def type_into(page, selector: str, text: str) -> None:
    page.click(selector)
    page.keyboard.type(text, delay=12)


def test_a_failure_is_counted_once_when_a_flush_falls_between_the_blur_and_the_attempts_check(open_form, site):
    # The submit click's blur carries the failure (the field is still marked invalid); a periodic flush sending
    # that blur before the attempt's own check must not make the check report the field a second time.
    page = open_form(SCRIPT_VALIDATED, clock=True)
    type_into(page, "#card", "4111")
    page.click("button[type=submit]")
    page.clock.run_for(400)  # the attempt's second check
    type_into(page, "#card", "1111")
    box = page.locator("button[type=submit]").bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()  # focus leaves the card field: its blur
    page.clock.run_for(5000)  # the periodic flush sends it, before the click's submit
    page.mouse.up()
    page.clock.run_for(400)
    page.goto("about:blank")

    session = only_session(page, site, status=FormSession.Status.EXITED)
    failures = [e for e in stored_events(site, session) if e.get("validation")]
    assert [(e["field"], e["validation"]) for e in failures] == [("card_number", "invalid_luhn")] * 2


CUSTOM_VALIDATION = """<form id="contact">
  <input id="email" name="email"><input id="name" name="fullName"><input id="phone" name="phone">
</form>
<script>
  // a site's own checks: setCustomValidity on one field, aria-invalid alone on the other, no reason named
  const email = document.getElementById("email"), fullName = document.getElementById("name");
  email.addEventListener("blur", () => email.setCustomValidity(email.value.includes("@") ? "" : "Enter an email"));
  fullName.addEventListener("blur", () => fullName.setAttribute("aria-invalid", String(fullName.value.length < 3)));
</script>"""


def test_custom_validation_without_a_named_reason_is_sent_as_invalid(open_form, site):
    page = open_form(CUSTOM_VALIDATION)
    type_into(page, "#email", "jane.doe")
    type_into(page, "#name", "Jo")
    type_into(page, "#phone", "0612")
    page.goto("about:blank")

    session = only_session(page, site, status=FormSession.Status.EXITED)
    blurs = {e["field"]: e.get("validation") for e in stored_events(site, session) if e["type"] == "blur"}
    assert blurs == {"email": "invalid", "full_name": "invalid"}


FIELD_KINDS = """<form id="kinds">
  <input name="input_1" type="tel"><input name="input_2" autocomplete="shipping email">
  <input name="input_3" type="datetime-local">
  <input name="input_4" type="range"><textarea name="input_5"></textarea><input name="input_6" type="file">
  <input name="input_7" type="radio" value="a"><input name="input_8" autocomplete="cc-number">
  <input name="input_9" autocomplete="bday"><input name="input_10" autocomplete="new-password"><input name="input_11">
  <select name="input_12" multiple><option>a</option></select><input name="input_13" type="number">
</form>"""
EXPECTED_KINDS = {
    "input_1": "tel", "input_2": "email", "input_3": "date", "input_4": "number", "input_5": "textarea", "input_6": "file",
    "input_7": "radio", "input_8": "number", "input_9": "date", "input_10": "password", "input_11": "text",
    "input_12": "select", "input_13": "number",
}  # fmt: skip


def test_focus_events_carry_the_field_kind_from_html_semantics(open_form, site):
    page = open_form(FIELD_KINDS)
    for name in EXPECTED_KINDS:
        page.focus(f"[name={name}]")
    page.goto("about:blank")

    session = only_session(page, site, status=FormSession.Status.EXITED)
    kinds = {e["field"]: e.get("kind") for e in stored_events(site, session) if e["type"] == "focus"}
    assert kinds == EXPECTED_KINDS


SCRIPT_VALIDATED = """<form id="checkout" novalidate>
  <input id="card" name="card_number" data-formrecap-reason="invalid_luhn"><input id="zip" name="zip">
  <button type="submit">Pay</button>
</form>
<script>
  checkout.addEventListener("submit", (e) => {
    e.preventDefault();  // the script validates, and would send the form itself
    card.setAttribute("aria-invalid", String(!/^\\d{16}$/.test(card.value)));
  });
</script>"""


def test_a_cancelled_submit_is_an_attempt_and_recording_goes_on(open_form, site):
    page = open_form(SCRIPT_VALIDATED)
    type_into(page, "#card", "4111")
    type_into(page, "#zip", "75011")
    page.click("button[type=submit]")
    type_into(page, "#card", "1111")
    page.click("button[type=submit]")
    page.wait_for_timeout(400)
    page.goto("about:blank")

    session = only_session(page, site, status=FormSession.Status.EXITED)
    events = stored_events(site, session)
    assert "submit" not in {e["type"] for e in events}
    failures = [e for e in events if e.get("validation")]
    assert [(e["field"], e["validation"]) for e in failures] == [("card_number", "invalid_luhn")] * 2
    assert events[-1]["type"] == "exit"
    assert sum(1 for e in events if e["type"] == "input" and e["field"] == "card_number") == 8  # typing after the attempt


SPA = """<form id="signup"><input id="email" name="email" type="email" required><button>Sign up</button></form>
<p id="thanks" hidden>Thanks!</p>
<script>
  signup.addEventListener("submit", (e) => {
    e.preventDefault();
    // fetch("/api/signup", …) would go here; then the app either tells FormRecap or swaps the form out
    setTimeout(() => { thanks.hidden = false; MODE === "call" ? formrecap.submitted(signup) : signup.remove(); }, 50);
  });
</script>"""


@pytest.mark.parametrize("mode", ["call", "remove"])
def test_single_page_app_submits_count(open_form, site, mode):
    page = open_form(SPA.replace("MODE", repr(mode)))
    type_into(page, "#email", "jane@example.org")
    page.click("button")
    page.wait_for_selector("#thanks", state="visible")

    session = only_session(page, site, status=FormSession.Status.SUBMITTED)
    page.goto("about:blank")
    page.wait_for_timeout(300)
    assert stored_events(site, session)[-1]["type"] == "submit"


def test_a_form_swapped_out_after_a_failed_attempt_is_no_submit(open_form, site):
    failing = SPA.replace("MODE", "'remove'").replace("required>", 'required data-formrecap-reason="taken">')
    page = open_form(failing.replace("e.preventDefault();", "e.preventDefault(); email.setAttribute('aria-invalid', 'true');"))
    type_into(page, "#email", "jane@example.org")
    page.click("button")  # the app re-renders with an error: the old form leaves the page
    page.wait_for_timeout(300)
    page.goto("about:blank")
    session = only_session(page, site, status=FormSession.Status.EXITED)
    assert [e.get("validation") for e in stored_events(site, session) if e["type"] == "blur"][-1] == "taken"


def test_a_tab_hidden_and_shown_again_is_neither_abandoned_nor_contacted(open_form, site):
    recovery_rule_create(tenant=site.tenant, action="suppress")
    page = open_form(CUSTOM_VALIDATION, clock=True)
    type_into(page, "#email", "jane@example.org")
    hide_tab(page)
    page.clock.fast_forward(8000)
    show_tab(page)
    type_into(page, "#name", "Jane")
    page.clock.fast_forward(1000)  # the next flush

    session = only_session(page, site)
    wait_for(page, lambda: "show" in {e["type"] for e in stored_events(site, session)}, what="the show event")
    session.refresh_from_db()
    assert session.status == FormSession.Status.IN_PROGRESS and session.hidden_at is None
    assert "exit" not in {e["type"] for e in stored_events(site, session)}
    assert any(t.startswith("scroll:page(") and int(t[12:-3]) >= 8000 for t in tokens(session))
    assert sweep_inactive_sessions() == 0
    assert not ActionExecution.objects.for_tenant(site.tenant).exists()


def test_a_hidden_tab_closed_later_carries_the_time_away(open_form, site):
    page = open_form(CUSTOM_VALIDATION, clock=True)
    type_into(page, "#email", "jane@example.org")
    type_into(page, "#name", "Ja")
    hide_tab(page)
    page.clock.fast_forward(90_000)
    page.close(run_before_unload=True)

    session = FormSession.objects.for_tenant(site.tenant).get(site=site)
    deadline = timezone.now() + timedelta(seconds=10)
    while session.status != FormSession.Status.EXITED and timezone.now() < deadline:
        session.refresh_from_db()
    assert session.status == FormSession.Status.EXITED
    trace = tokens(session)
    assert trace[-1] == "exit" and trace[-2].startswith("scroll:page(") and int(trace[-2][12:-3]) >= 90_000


LINKS = """<header><a id="logo" href="/t/next"><img alt="Acme" width="60" height="20"
  src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></a></header>
<form id="newsletter"><input id="work" name="work_email" type="email"><input id="home" name="home_email" type="email"></form>"""


def test_the_blur_caused_by_leaving_carries_no_validation_failure(open_form, site):
    page = open_form(LINKS)
    type_into(page, "#work", "jane.doe-at")
    type_into(page, "#home", "jane.do")  # leaving work_email for the next field: a real failure
    page.click("#logo")  # leaving: the half-typed home_email blurs on the way out
    page.wait_for_url("**/t/next")

    session = only_session(page, site, status=FormSession.Status.EXITED)
    blurs = [(e["field"], e.get("validation")) for e in stored_events(site, session) if e["type"] == "blur"]
    assert blurs == [("work_email", "invalid_format"), ("home_email", None)]


def test_a_visitor_who_comes_back_and_submits_recovers_the_earlier_abandonment(open_form, site, active_embedded_model):
    recovery_rule_create(tenant=site.tenant, action="suppress", holdout_share=0.0)
    page = open_form(SPA.replace("MODE", "'call'"))
    type_into(page, "#email", "jane@exa")
    page.goto("about:blank")
    left = only_session(page, site, status=FormSession.Status.EXITED)
    assert left.anonymous_id
    sweep_inactive_sessions(now=timezone.now() + timedelta(seconds=site.outreach_delay_seconds + 1))
    [execution] = ActionExecution.objects.for_tenant(site.tenant).filter(session=left)

    page = open_form(SPA.replace("MODE", "'call'"), page=page)  # another day, same browser
    type_into(page, "#email", "jane@example.org")
    page.click("button")
    won = only_session(page, site, status=FormSession.Status.SUBMITTED)
    assert won.anonymous_id == left.anonymous_id
    execution.refresh_from_db()
    left.refresh_from_db()
    assert execution.recovered_at is not None and execution.recovered_by_session_id == won.pk
    assert left.recovered_at is not None

    page.evaluate("formrecap.optOut()")  # forgets the id, sends nothing more
    assert page.evaluate(f"localStorage.getItem('formrecap_vid_{site.site_key}')") is None


VALUES_IN_NAMES = """<form id="pay-4111-1111-1111-1111">
  <input name="typedsecret_4111111111111111"><input name="contact[jane@example.com]"><input name="address_line_1">
</form>
<script>formrecap.identify("4111 1111 1111 1111")</script>"""


def test_values_in_field_names_the_form_id_the_path_and_the_visitor_reference_never_leave_the_page(context, open_form, site):
    # What the snippet itself sends, before the server's own scrubbing (formrecap/ingest/scrub.py).
    sent: list[str | None] = []
    context.route("**/api/v1/ingest/", lambda route: (sent.append(route.request.post_data), route.continue_()))
    page = open_form(VALUES_IN_NAMES, name="pay/5555-5555-5555-4444")
    type_into(page, "[name='typedsecret_4111111111111111']", "ab")
    type_into(page, "[name='contact[jane@example.com]']", "cd")
    type_into(page, "[name=address_line_1]", "ef")

    session = only_session(page, site)
    wait_for(page, lambda: any(e.get("field") == "address_line_1" for e in stored_events(site, session)), what="3 fields")
    assert sent and None not in sent
    bodies = [json.loads(body) for body in sent]
    assert {e["field"] for b in bodies for e in b["events"] if "field" in e} == {
        "typedsecret_redacted",
        "contact_redacted",
        "address_line_1",
    }
    assert {b["form"]["path"] for b in bodies} == {"/t/pay/redacted"}
    assert {b["form"]["id"] for b in bodies} == {"pay-redacted"}
    assert all("visitor" not in b for b in bodies)  # a card number is no visitor reference: dropped
    for typed in ("4111", "5555", "jane", "example.com"):
        assert not any(typed in body for body in sent), typed
    page.goto("about:blank")  # the exit goes out now, not while the test database closes
    session = only_session(page, site, status=FormSession.Status.EXITED)
    assert (session.path, session.visitor_ref) == ("/t/pay/redacted", "")
