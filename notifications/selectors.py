"""Reads for notifications: who is emailed, and how many are unread."""

from django.contrib.auth import get_user_model

from formrecap.models import Membership, Tenant

from .models import Notification

RECIPIENT_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def notification_recipients(*, tenant: Tenant | None) -> list[str]:
    """Email addresses to tell: the tenant's owners and admins, or for a system-wide notification (no tenant) the
    superusers. Only active users with an address; analysts only read, so they are not emailed."""
    if tenant is None:
        users = get_user_model()._default_manager.filter(is_superuser=True)
    else:
        member_ids = Membership.objects.for_tenant(tenant).filter(role__in=RECIPIENT_ROLES).values("user_id")
        users = get_user_model()._default_manager.filter(pk__in=member_ids)
    emails = users.filter(is_active=True).exclude(email="").values_list("email", flat=True)
    return sorted(set(emails))


def notification_unread_count(*, tenant_ids: list[int] | None) -> int:
    """Unread notifications of these tenants; ``None``: every notification, system-wide ones included (superusers).
    A list never counts system-wide rows: ``tenant IN (...)`` does not match an empty tenant."""
    unread = Notification.all_tenants.filter(read_at__isnull=True)
    if tenant_ids is not None:
        unread = unread.filter(tenant_id__in=tenant_ids)
    return unread.count()
