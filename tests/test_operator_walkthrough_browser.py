"""An operator's first hour, in real Chromium against the real server: log in, read the dashboard (with a month of
simulated traffic), open a form's fields, a session's timeline, watch the demo's live reading, add a site and see its
install tag and installation check turn green, create a rule from a template, open the notifications list.

Screenshots of every page go to var/screenshots/walkthrough_*.png (git-ignored) for a person to look at.
"""

import re
from pathlib import Path

import pytest

from formrecap.demo import demo_seed
from formrecap.demo_traffic import demo_traffic_seed
from formrecap.models import FormSession, Site, Tenant
from recovery.models import RecoveryRule
from tests.formrecap.test_demo_live_browser import KEYSTROKE_GAPS_MS, shows_a_reading
from tests.formrecap.test_snippet_browser import browser, wait_for  # noqa: F401 - the module-scoped Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
PASSWORD = "pw-walkthrough-1234"
TRAFFIC = 80


@pytest.fixture
def operator(live_server, active_embedded_model, settings) -> Tenant:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo_seed(origins=[live_server.url], username="operator", password=PASSWORD)
    tenant = Tenant.objects.get(slug="demo")
    demo_traffic_seed(tenant=tenant, sessions=TRAFFIC)
    return tenant


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"walkthrough_{name}.png", full_page=True)


def test_an_operator_walks_through_the_product(browser, live_server, operator):  # noqa: F811
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    failed_responses: list[str] = []
    page.on("response", lambda r: r.status >= 500 and failed_responses.append(f"{r.status} {r.url}"))
    try:
        # the landing page points to admin; logging in lands on the index with the FormRecap box first
        page.goto(f"{live_server.url}/")
        page.click("a[href='/admin/']")
        page.fill("#id_username", "operator")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#formrecap-start")
        assert page.locator("#formrecap-start a", has_text="Notifications").count() == 1
        shot(page, "1_index")

        # the overview: figures from a month of traffic, every chart drawn, every table exportable
        page.click("#formrecap-start a:text-is('Dashboard')")
        page.wait_for_selector(".dash-cards")
        started = int(page.locator(".dash-card .value").first.text_content())
        assert started == TRAFFIC
        assert page.locator("svg.chart").count() >= 5
        assert page.locator("a", has_text="CSV").count() >= 5
        shot(page, "2_dashboard")
        with page.expect_download() as download:
            page.locator("a", has_text="CSV").first.click()
        assert download.value.suggested_filename.endswith(".csv")

        # one form's fields: the drop-off funnel and the per-field table
        page.locator("section[aria-label=Forms] table a").first.click()
        page.wait_for_selector("svg.chart")
        assert "/admin/dashboard/form/" in page.url
        assert page.locator("table").count() >= 1 and page.locator("svg.chart").count() >= 1
        shot(page, "3_form_fields")

        page.goto(f"{live_server.url}/admin/dashboard/recovery/")
        page.wait_for_selector("svg.chart")
        shot(page, "4_recovery")

        # the sessions list, filtered by reason, then one session's page: its reading and timeline
        page.goto(f"{live_server.url}/admin/formrecap/formsession/?reason=1")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() >= 1
        assert all("validation error" in text for text in rows.locator("td.field-reason").all_text_contents())
        shot(page, "5_sessions")
        rows.first.locator("th a").click()
        page.wait_for_selector(".field-timeline_shown")
        assert page.locator(".field-reading_shown tr").count() == 6  # all six probabilities
        assert page.locator(".field-timeline_shown tr").count() >= 3
        shot(page, "6_session")

        # the demo: a live reading beside the form, linked to the session in admin (the operator is logged in)
        demo = context.new_page()
        demo.goto(f"{live_server.url}/demo/")
        demo.click("#email")
        for i, char in enumerate("someone.example"):
            demo.keyboard.type(char)
            demo.wait_for_timeout(KEYSTROKE_GAPS_MS[i % len(KEYSTROKE_GAPS_MS)])
        demo.click("#password")
        wait_for(demo, lambda: shows_a_reading(demo), timeout=5, what="the live reading")
        shot(demo, "7_demo")
        demo.click("#r-admin")
        demo.wait_for_selector(".field-reading_shown")
        assert re.search(r"/admin/formrecap/formsession/\d+/change/$", demo.url)
        demo.close()

        # a new site: its tag names this host and its key; the check turns green once a page with the tag sends
        page.goto(f"{live_server.url}/admin/formrecap/site/add/")
        page.fill("#id_name", "Checkout")
        page.fill("#id_allowed_origins", live_server.url)
        page.click("input[name=_continue]")
        page.wait_for_selector(".field-snippet_tag .readonly code, .errornote")
        shot(page, "8_site_saved")
        assert page.locator(".errornote").count() == 0, page.locator(".errorlist").all_text_contents()
        site = Site.objects.for_tenant(operator).get(name="Checkout")
        tag = page.locator(".field-snippet_tag code").first.text_content()
        assert tag == f'<script src="{live_server.url}/snippet/v1/formrecap.js" data-site-key="{site.site_key}" async></script>'
        assert "No batch received yet" in page.locator(".field-installation").text_content()
        shot(page, "8_site_added")
        visitor = context.new_page()
        visitor.goto(f"{live_server.url}/demo/?site_key={site.site_key}")
        visitor.click("#email")
        visitor.keyboard.type("abc")
        visitor.click("#password")
        wait_for(visitor, lambda: FormSession.objects.for_tenant(operator).filter(site=site).exists(), what="the first batch")
        visitor.close()
        page.reload()
        assert "Installed: the first batch arrived" in page.locator(".field-installation .readonly").text_content()
        shot(page, "9_site_installed")

        # a rule from a template: choosing the action fills its documented params, which the operator edits
        page.goto(f"{live_server.url}/admin/recovery/recoveryrule/add/")
        page.fill("#id_name", "Win back checkout shoppers")
        page.select_option("#id_action", "email")
        template = page.locator("#id_params").input_value()
        assert "resume_url" in template
        page.fill("#id_params", template.replace("shop.example.com", "checkout.example.com"))
        page.select_option("#id_class_code", "3")
        shot(page, "10_rule_form")
        page.click("input[name=_save]")
        page.wait_for_selector(".messagelist .success")
        rule = RecoveryRule.objects.for_tenant(operator).get(name="Win back checkout shoppers")
        assert rule.action == "email" and rule.class_code == 3
        assert rule.params["resume_url"] == "https://checkout.example.com/checkout?resume=1"
        shot(page, "11_rules")

        page.goto(f"{live_server.url}/admin/notifications/notification/")
        assert page.locator("h1").text_content().startswith("Notifications:")
        shot(page, "12_notifications")
    finally:
        context.close()
    assert errors == [], f"a page threw: {errors}"
    assert failed_responses == [], f"server errors: {failed_responses}"
