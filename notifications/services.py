"""Telling operators: one notification per event, emailed once after the transaction that records it commits.

Events are reported where they happen (notifications/events.py says what each one says). Each carries a dedupe
key, unique in the table: a task redelivered or a handler retried reports the same event again and finds the row
there, so nothing is recorded or emailed twice.
"""

import re

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from formrecap.models import Tenant

from .models import Notification
from .selectors import notification_recipients

TITLE_MAX = Notification._meta.get_field("title").max_length


def notify(*, tenant: Tenant | None, kind: str, title: str, body: str, link: str, dedupe_key: str) -> Notification:
    """The notification of the event ``dedupe_key``, created by this call or found from an earlier one.

    Only the call that creates the row emails it, after commit: a rolled-back event tells no one. ``tenant`` None is
    a system-wide notification (superusers).
    """
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                tenant=tenant, kind=kind, title=title[:TITLE_MAX], body=body, link=link, dedupe_key=dedupe_key
            )
    except IntegrityError:
        existing = Notification.all_tenants.filter(dedupe_key=dedupe_key).first()
        if existing is None:  # not the dedupe key: some other constraint, a real error
            raise
        return existing
    notification_id = notification.pk
    # robust: a mail server that is down must not undo (or fail) the work that reported the event; Django logs it.
    # A lambda, not a partial: Django names the callback by its __qualname__ when it logs the error.
    transaction.on_commit(lambda: notification_email(notification_id=notification_id), robust=True)
    return notification


def notification_email(*, notification_id: int) -> bool:
    """Email a notification to its recipients, at most once. False when no one was emailed (no recipient with an
    address, or an earlier call took it)."""
    notification = Notification.all_tenants.select_related("tenant").filter(pk=notification_id).first()
    if notification is None:
        return False
    recipients = notification_recipients(tenant=notification.tenant)
    if not recipients:
        return False  # still listed in admin; emailed_at stays empty
    # Claimed by a conditional UPDATE before sending: however this came to be called twice, one call sends.
    claimed_at = timezone.now()
    if not Notification.all_tenants.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=claimed_at):
        return False
    message = EmailMessage(
        subject=f"[FormRecap] {notification.title}",
        body=_email_body(notification),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={"Message-ID": _message_id(notification)},
    )
    try:
        message.send()
    except Exception:
        # Nothing sends it again (at most once), so the empty mark only tells admin it did not go out; on_commit's
        # robust mode logs the error.
        Notification.all_tenants.filter(pk=notification_id, emailed_at=claimed_at).update(emailed_at=None)
        raise
    return True


def _email_body(notification: Notification) -> str:
    lines = [notification.body.rstrip(), ""]
    if notification.link:
        # Admin paths are relative; behind a proxy FORMRECAP_PUBLIC_ORIGIN names the host operators reach.
        lines.append(f"Open it in admin: {settings.FORMRECAP_PUBLIC_ORIGIN.rstrip('/')}{notification.link}")
    scope = f"tenant {notification.tenant}" if notification.tenant else "the whole installation (superusers)"
    lines.append(f"You are told as an operator of {scope}. Every notification is listed in admin under Notifications.")
    return "\n".join(lines) + "\n"


def _message_id(notification: Notification) -> str:
    # Derived from the dedupe key: mail systems that drop a repeated Message-ID drop a repeat of this event too.
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "formrecap.local"
    return f"<notification.{re.sub(r'[^A-Za-z0-9.-]', '.', notification.dedupe_key)}@{domain}>"


def notifications_mark_read(*, notifications) -> int:
    """Mark the given notifications read (those unread); returns how many changed."""
    return notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
