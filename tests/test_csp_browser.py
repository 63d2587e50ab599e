"""The Content-Security-Policy in real Chromium: the landing page, admin (login, index, dashboards, lists, forms with
their scripts), the demo (the snippet and the live panel's inline scripts) and Swagger UI all work under it, and the
browser reports no violation on any of them.
"""

import pytest

from formrecap.demo import demo_seed
from tests.formrecap.test_demo_live_browser import shows_a_reading, type_into
from tests.formrecap.test_snippet_browser import browser, wait_for  # noqa: F401 - the module-scoped Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-csp-browser-1234"
# Every violation, console or not: the event fires even where a page swallows the console error.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
"""
ADMIN_PAGES = [
    ("/admin/", "#formrecap-start"),
    ("/admin/dashboard/", "svg.chart"),
    ("/admin/dashboard/recovery/", "#content"),
    ("/admin/formrecap/formsession/", "#changelist"),
    ("/admin/formrecap/site/add/", "#site_form"),
    ("/admin/recovery/recoveryrule/add/", "#recoveryrule_form"),
]


@pytest.fixture
def operator(live_server, active_embedded_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return demo_seed(origins=[live_server.url], username="operator", password=PASSWORD)


def test_pages_work_under_the_policy_without_violations(browser, live_server, operator):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))

    def visit(path: str, ready: str) -> None:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self' 'nonce-" in policy, f"{path}: no Content-Security-Policy"
        page.wait_for_selector(ready)
        violations = page.evaluate("window.__cspViolations")
        csp_errors = [text for text in console_errors if "Content Security Policy" in text]
        assert not violations and not csp_errors, f"{path}: {violations} {csp_errors}"

    try:
        visit("/", "a[href='/admin/']")
        visit("/admin/login/", "#id_username")
        page.fill("#id_username", "operator")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#formrecap-start")
        for path, ready in ADMIN_PAGES:
            visit(path, ready)
        # the rule form's script fills the params template when an action is picked
        page.select_option("#id_action", index=1)
        wait_for(page, lambda: page.input_value("#id_params").strip() not in ("", "{}"), what="the params template")

        # Swagger UI from the sidecar, its start-up script as a file: the operations are drawn from the schema
        visit("/api/docs/", ".opblock")

        # the demo: the snippet sends, the inline live panel polls and shows the reading
        visit("/demo/", "#signup")
        type_into(page, "#email", "someone.example")
        page.click("#password")
        wait_for(page, lambda: shows_a_reading(page), timeout=10, what="the live reading")
        page.wait_for_timeout(500)
        assert not page.evaluate("window.__cspViolations")
        assert not [text for text in console_errors if "Content Security Policy" in text]
        assert not [text for text in console_errors if "Uncaught" in text], console_errors
    finally:
        page.goto("about:blank")  # stops the panel's polling before the test database goes away
        context.close()


def test_an_inline_script_without_the_nonce_is_blocked(browser, live_server, db):  # noqa: F811
    """The policy is not a formality: a script injected into a page does not run."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/")
        ran = page.evaluate(
            """() => new Promise((resolve) => {
                document.addEventListener("securitypolicyviolation", () => resolve(window.__injected === true));
                const script = document.createElement("script");
                script.textContent = "window.__injected = true";
                document.body.appendChild(script);
            })"""
        )
        assert ran is False
    finally:
        context.close()
