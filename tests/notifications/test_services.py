"""notify(): one row and at most one email per event, to the right people, after commit."""

import socket

import pytest
from django.core import mail
from django.db import transaction

from formrecap.models import Membership
from notifications.models import Notification
from notifications.selectors import notification_recipients
from notifications.services import notification_email, notify
from tests.factories import UserFactory
from tests.notifications.conftest import member

pytestmark = pytest.mark.django_db


def tell(tenant, key: str = "test:1", **fields) -> Notification:
    values = {
        "kind": Notification.Kind.UX_ALERT_OPENED,
        "title": "UX alert: the field email",
        "body": "12 of 40 abandoned sessions failed on email.",
        "link": "/admin/recovery/uxalert/1/change/",
        **fields,
    }
    return notify(tenant=tenant, dedupe_key=key, **values)


def test_the_same_event_twice_makes_one_row_and_one_email(tenant, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as first_callbacks:
        first = tell(tenant)
    with django_capture_on_commit_callbacks(execute=True) as second_callbacks:
        again = tell(tenant, title="told again")

    assert again.pk == first.pk and again.title == "UX alert: the field email"
    assert Notification.all_tenants.count() == 1
    assert (len(first_callbacks), len(second_callbacks)) == (1, 0)  # only the call that created it emails
    [email] = mail.outbox
    assert email.to == [owner.email] and email.subject == "[FormRecap] UX alert: the field email"
    assert "12 of 40 abandoned sessions failed on email." in email.body
    assert "Open it in admin: /admin/recovery/uxalert/1/change/" in email.body
    assert Notification.all_tenants.get().emailed_at is not None


def test_an_email_is_sent_at_most_once_even_if_asked_twice(tenant, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification = tell(tenant)
    assert notification_email(notification_id=notification.pk) is False
    assert len(mail.outbox) == 1


def test_nothing_is_told_before_commit_nor_after_a_rollback(tenant, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tell(tenant, key="committed")
        with pytest.raises(RuntimeError), transaction.atomic():
            tell(tenant, key="rolled-back")
            raise RuntimeError("the event's own work failed")
    assert mail.outbox == [] and len(callbacks) == 1  # the rolled-back one's email went with it
    assert list(Notification.all_tenants.values_list("dedupe_key", flat=True)) == ["committed"]


def test_a_tenants_owners_and_admins_are_told_not_its_analysts_nor_anyone_elses(
    tenant, other_tenant, owner, django_capture_on_commit_callbacks
):
    admin = member(tenant, Membership.Role.ADMIN)
    member(tenant, Membership.Role.ANALYST)
    member(tenant, Membership.Role.ADMIN, username="no-address", email="")
    member(tenant, Membership.Role.OWNER, username="gone", email="gone@example.com", is_active=False)
    member(other_tenant, Membership.Role.OWNER)
    UserFactory(username="root", email="root@example.com", is_superuser=True)  # not a member: system-wide only

    assert notification_recipients(tenant=tenant) == sorted([owner.email, admin.email])
    with django_capture_on_commit_callbacks(execute=True):
        tell(tenant)
    [email] = mail.outbox
    assert sorted(email.to) == sorted([owner.email, admin.email])


def test_system_wide_notifications_go_to_active_superusers(tenant, owner, superuser, django_capture_on_commit_callbacks):
    UserFactory(username="root-off", email="off@example.com", is_superuser=True, is_active=False)
    UserFactory(username="root-silent", email="", is_superuser=True)
    UserFactory(username="staff", email="staff@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        notification = tell(None, kind=Notification.Kind.TRAINING_FAILED, title="Training run 3 failed")

    assert notification.tenant is None
    [email] = mail.outbox
    assert email.to == [superuser.email]
    assert "superusers" in email.body


def test_with_no_one_to_tell_the_row_is_kept_unemailed(tenant, django_capture_on_commit_callbacks):
    member(tenant, Membership.Role.ANALYST)
    with django_capture_on_commit_callbacks(execute=True):
        notification = tell(tenant)
    assert mail.outbox == []
    notification.refresh_from_db()
    assert notification.emailed_at is None


def test_a_mail_server_that_is_down_neither_fails_the_event_nor_marks_it_emailed(
    tenant, owner, settings, django_capture_on_commit_callbacks, caplog
):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2

    with django_capture_on_commit_callbacks(execute=True):
        notification = tell(tenant)

    notification.refresh_from_db()
    assert notification.emailed_at is None
    assert "Error calling" in caplog.text and "ConnectionRefusedError" in caplog.text
