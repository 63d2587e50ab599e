"""The rule form in real Chromium: choosing an action puts its documented template in an empty params box, and
switches templates while the box still holds an untouched one, never overwriting what the operator wrote."""

import json

import pytest
from django.conf import settings as django_settings

from formrecap.models import Membership
from recovery.action_params import TEMPLATES
from tests.factories import MembershipFactory, UserFactory
from tests.formrecap.test_snippet_browser import browser  # noqa: F401 - the module-scoped Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_choosing_an_action_fills_its_template(browser, live_server, client, tenant, settings):  # noqa: F811
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    owner = UserFactory(username="rules-browser")
    MembershipFactory(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    client.force_login(owner)
    context = browser.new_context()
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])  # fmt: skip
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/recovery/recoveryrule/add/")
        params = page.locator("#id_params")
        page.select_option("#id_action", "discount")
        assert json.loads(params.input_value()) == TEMPLATES["discount"]
        page.select_option("#id_action", "webhook")  # still the untouched discount template: replaced
        assert json.loads(params.input_value()) == TEMPLATES["webhook"]
        params.fill('{"url": "https://hooks.mine.example/x"}')
        page.select_option("#id_action", "email")  # the operator's own text stays
        assert json.loads(params.input_value()) == {"url": "https://hooks.mine.example/x"}
    finally:
        context.close()
