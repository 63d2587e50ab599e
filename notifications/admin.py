"""Notifications in admin: unread first, read-only, marked read by an action. Tenant-scoped through
TenantScopedAdmin; system-wide notifications (no tenant) are for superusers only."""

from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpRequest
from django.utils.html import format_html

from formrecap.admin_tenancy import TenantScopedAdmin, editable_tenant_ids

from .models import Notification
from .services import notifications_mark_read

UNREAD = ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField())


class ReadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return [("unread", "Unread"), ("read", "Read")]

    def queryset(self, request, queryset):
        if self.value() not in ("unread", "read"):
            return queryset
        return queryset.filter(read_at__isnull=self.value() == "unread")


@admin.register(Notification)
class NotificationAdmin(TenantScopedAdmin):
    list_display = ["unread", "kind", "title", "scope", "created_at", "read_at"]
    list_display_links = ["title"]
    list_filter = ["kind", ReadFilter]
    list_select_related = ["tenant"]
    ordering = [UNREAD.desc(), "-created_at", "-id"]
    search_fields = ["title", "body"]
    fields = ["title", "kind", "scope", "created_at", "read_at", "emailed_at", "body_shown", "link_shown"]
    readonly_fields = fields
    actions = ["mark_read"]

    def object_tenant_id(self, obj: Notification) -> int | None:
        # A system-wide row has no tenant: None matches no membership, so only superusers pass.
        return obj.tenant_id

    # The system writes notifications; operators only read them and mark them read. They are not deleted either:
    # the row's dedupe key is what keeps an event reported again (a redelivered task) from notifying twice.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_mark_read_permission(self, request: HttpRequest) -> bool:
        return self._may_edit(request)

    @admin.action(description="Mark as read", permissions=["mark_read"])
    def mark_read(self, request: HttpRequest, queryset) -> None:
        # Analysts see their tenants' notifications but do not change them: only rows the user may edit.
        allowed = queryset if request.user.is_superuser else queryset.filter(tenant_id__in=editable_tenant_ids(request))
        count = notifications_mark_read(notifications=allowed)
        self.message_user(request, f"Marked {count} notification(s) as read.")

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # The unread count, in the list's title (the admin index template is another page's to override).
        unread = self.get_queryset(request).filter(read_at__isnull=True).count()
        title = f"Notifications: {unread} unread" if unread else "Notifications: none unread"
        return super().changelist_view(request, extra_context={"title": title, **(extra_context or {})})

    @admin.display(description="unread", boolean=True, ordering=UNREAD)
    def unread(self, notification: Notification) -> bool:
        return notification.read_at is None

    @admin.display(description="for", ordering="tenant__name")
    def scope(self, notification: Notification) -> str:
        return str(notification.tenant) if notification.tenant_id else "system-wide"

    @admin.display(description="body")
    def body_shown(self, notification: Notification) -> str:
        # Kept as written: a failed run's body ends with its traceback.
        return format_html('<div style="white-space: pre-wrap">{}</div>', notification.body)

    @admin.display(description="link")
    def link_shown(self, notification: Notification) -> str:
        # Written by the system as an admin path; anything else (another host, a script URL) is shown as text.
        link = notification.link
        if not link.startswith("/") or link.startswith("//"):
            return link or "–"
        return format_html('<a href="{}">{}</a>', link, link)
