"""``notifications_unread`` in every template a staff user is shown (e.g. the admin index): how many unread
notifications they may see. Counted only where a template uses it (templates call a callable)."""

from functools import cache

from django.http import HttpRequest

from formrecap.admin_tenancy import member_tenant_ids

from .selectors import notification_unread_count


def unread_notifications(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_active or not user.is_staff:
        return {}

    @cache  # once per request, however often the template reads it
    def count() -> int:
        # The admin's scope: superusers every row, other staff their tenants' rows (never system-wide ones).
        return notification_unread_count(tenant_ids=None if user.is_superuser else member_tenant_ids(request))

    return {"notifications_unread": count}
