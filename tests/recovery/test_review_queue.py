"""The review queue is worked through: each item shows how many wait and the labels so far, links to its waiting
neighbours, saving opens the next waiting item, and (in real Chromium) keys 1-6 choose the class and n moves on."""

import pytest
from django.urls import reverse

from formrecap.models import Membership
from recovery.models import ReviewItem
from tests.classifier.helpers import recorded_session
from tests.factories import MembershipFactory, UserFactory
from tests.formrecap.test_snippet_browser import browser  # noqa: F401 - the module-scoped Chromium fixture


def queue_of(site, count: int) -> list[ReviewItem]:
    """``count`` waiting items, newest first (the queue's order)."""
    items = [
        ReviewItem.all_tenants.create(tenant=site.tenant, session=recorded_session(site), reason="unsure") for _ in range(count)
    ]
    return items[::-1]


@pytest.fixture
def reviewer(client, tenant, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = UserFactory(username="reviewer")
    MembershipFactory(tenant=tenant, user=user, role=Membership.Role.OWNER)
    client.force_login(user)
    return client


def page_of(item: ReviewItem) -> str:
    return reverse("admin:recovery_reviewitem_change", args=[item.pk])


def test_each_item_shows_the_queue_and_saving_opens_the_next_waiting_one(db, reviewer, site, other_site):
    newest, middle, oldest = queue_of(site, 3)
    queue_of(other_site, 2)  # another tenant's waiting items are neither counted nor linked
    page = reviewer.get(page_of(middle)).content.decode()
    assert "3 waiting" in page and "validation error 0" in page
    assert f'href="{page_of(newest)}" accesskey="p"' in page and f'href="{page_of(oldest)}" accesskey="n"' in page

    response = reviewer.post(page_of(middle), {"label": "3", "note": ""})
    assert response.status_code == 302 and response["Location"] == page_of(oldest)
    page = reviewer.get(page_of(oldest)).content.decode()
    assert "2 waiting" in page and "comparison shopping 1" in page

    reviewer.post(page_of(oldest), {"label": "1", "note": ""})
    response = reviewer.post(page_of(newest), {"label": "1", "note": ""}, follow=True)
    assert "The queue is empty." in response.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_keys_choose_the_class_and_move_along_the_queue(browser, live_server, reviewer, site):  # noqa: F811
    newest, older = queue_of(site, 2)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": reviewer.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(live_server.url + page_of(newest))
        page.keyboard.press("3")
        assert page.locator("#id_label").input_value() == "3"
        page.keyboard.press("n")
        page.wait_for_url(live_server.url + page_of(older))
    finally:
        context.close()
