"""Notifications in admin: each tenant's staff see their tenant's only, system-wide ones are for superusers, unread
first, read-only, marked read by owners and admins."""

import pytest
from django.urls import reverse
from django.utils import timezone

from formrecap.models import Membership
from notifications.models import Notification
from tests.notifications.conftest import member

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:notifications_notification_changelist")


def change_url(notification: Notification) -> str:
    return reverse("admin:notifications_notification_change", args=[notification.pk])


def row(tenant, key: str, **fields) -> Notification:
    values = {"kind": Notification.Kind.UX_ALERT_OPENED, "title": key, "body": f"body of {key}", "link": "", **fields}
    return Notification.all_tenants.create(tenant=tenant, dedupe_key=key, **values)


@pytest.fixture
def rows(tenant, other_tenant) -> dict[str, Notification]:
    return {
        "acme-read": row(tenant, "acme-read", read_at=timezone.now()),
        "acme-unread": row(tenant, "acme-unread", kind=Notification.Kind.WEBHOOK_DISABLED),
        "globex": row(other_tenant, "globex"),
        "system": row(None, "system", kind=Notification.Kind.TRAINING_FAILED),
    }


def listed(response) -> list[str]:
    return [notification.title for notification in response.context["cl"].result_list]


def test_a_tenant_owner_sees_only_their_tenants_notifications_unread_first(client, owner, rows):
    client.force_login(owner)
    response = client.get(CHANGELIST)

    assert response.status_code == 200
    # Neither the other tenant's rows nor system-wide ones (no tenant: `tenant IN (...)` never matches it).
    assert listed(response) == ["acme-unread", "acme-read"]
    page = response.content.decode()
    assert "globex" not in page and "system" not in page
    assert "Notifications: 1 unread" in page


@pytest.mark.parametrize("foreign", ["globex", "system"])
def test_another_tenants_or_a_system_notification_answers_like_a_missing_one(client, owner, rows, foreign):
    client.force_login(owner)
    response = client.get(change_url(rows[foreign]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert "doesn’t exist" in response.content.decode()

    client.post(CHANGELIST, {"action": "mark_read", "_selected_action": [str(rows[foreign].pk)]})
    assert Notification.all_tenants.get(pk=rows[foreign].pk).read_at is None


def test_a_superuser_sees_every_notification(client, superuser, rows):
    client.force_login(superuser)
    response = client.get(CHANGELIST)
    assert sorted(listed(response)) == sorted(rows)
    assert listed(response)[-1] == "acme-read"  # the only read one comes last
    assert client.get(change_url(rows["system"])).status_code == 200


def test_the_change_page_shows_the_body_and_a_link_and_nothing_can_be_edited_or_added(client, owner, tenant):
    notification = row(
        tenant, "alert", body="12 of 40 failed on <email>.\nResolve it in admin.", link="/admin/recovery/uxalert/7/change/"
    )
    client.force_login(owner)

    page = client.get(change_url(notification)).content.decode()

    assert "12 of 40 failed on &lt;email&gt;." in page  # escaped
    assert '<a href="/admin/recovery/uxalert/7/change/">' in page
    assert 'name="_save"' not in page
    assert client.get(reverse("admin:notifications_notification_add")).status_code == 403


def test_a_link_that_is_not_an_admin_path_is_not_a_link(client, owner, tenant):
    notification = row(tenant, "odd", link="javascript:alert(1)")
    client.force_login(owner)
    assert 'href="javascript' not in client.get(change_url(notification)).content.decode()


def test_filters_by_kind_and_read_state(client, owner, rows):
    client.force_login(owner)
    assert listed(client.get(CHANGELIST, {"kind__exact": "webhook_disabled"})) == ["acme-unread"]
    assert listed(client.get(CHANGELIST, {"read": "read"})) == ["acme-read"]
    assert listed(client.get(CHANGELIST, {"read": "unread"})) == ["acme-unread"]


def test_owners_mark_their_notifications_read(client, owner, rows):
    client.force_login(owner)
    selected = [str(rows["acme-unread"].pk), str(rows["globex"].pk)]
    client.post(CHANGELIST, {"action": "mark_read", "_selected_action": selected})

    assert Notification.all_tenants.get(pk=rows["acme-unread"].pk).read_at is not None
    assert Notification.all_tenants.get(pk=rows["globex"].pk).read_at is None
    assert "Notifications: none unread" in client.get(CHANGELIST).content.decode()


def test_analysts_read_but_do_not_mark_read(client, tenant, rows):
    analyst = member(tenant, Membership.Role.ANALYST)
    client.force_login(analyst)
    response = client.get(CHANGELIST)
    assert listed(response) == ["acme-unread", "acme-read"]
    assert "mark_read" not in response.content.decode()

    client.post(CHANGELIST, {"action": "mark_read", "_selected_action": [str(rows["acme-unread"].pk)]})
    assert Notification.all_tenants.get(pk=rows["acme-unread"].pk).read_at is None


def test_the_unread_count_reaches_the_admin_index_in_the_users_scope(client, owner, superuser, rows):
    client.force_login(owner)
    assert client.get(reverse("admin:index")).context["notifications_unread"]() == 1
    client.force_login(superuser)
    assert client.get(reverse("admin:index")).context["notifications_unread"]() == 3  # acme, globex, system
