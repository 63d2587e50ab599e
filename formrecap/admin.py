"""Django admin for operators; isolation comes from TenantScopedAdmin."""

import json

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from classifier.admin import PredictionInline

from .admin_tenancy import TenantScopedAdmin, TenantSiteListFilter, editable_tenant_ids, member_tenant_ids
from .credentials import new_site_key
from .models import ApiKey, FormSession, Membership, Site, Tenant, TraceChunk
from .services import api_key_create, normalise_origin


class TenantOwnAdmin(TenantScopedAdmin):
    """The Tenant model scopes to itself; only superusers create or delete tenants."""

    tenant_path = "pk"

    def object_tenant_id(self, obj) -> int:
        return obj.pk

    def get_queryset(self, request):
        queryset = Tenant.objects.order_by(*self.get_ordering(request))
        return queryset if request.user.is_superuser else queryset.filter(pk__in=member_tenant_ids(request))

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(Tenant)
class TenantAdmin(TenantOwnAdmin):
    list_display = ["name", "slug", "created_at"]
    ordering = ["name"]
    search_fields = ["name", "slug"]


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    # Only owners manage who is in a tenant, so an admin cannot promote themselves or remove an owner.
    editor_roles = (Membership.Role.OWNER,)
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    autocomplete_fields: list = []


class OriginsField(forms.CharField):
    """One origin per line in the form, a normalised list in the model."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, str):
            return value  # the submitted text, shown back as typed when the form has errors
        return "\n".join(value or [])

    def to_python(self, value):
        lines = [line.strip() for line in (value or "").splitlines() if line.strip()]
        try:
            return sorted({normalise_origin(line) for line in lines})
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class SiteForm(forms.ModelForm):
    allowed_origins = OriginsField(required=False, help_text="One origin per line, e.g. https://shop.example.com")

    class Meta:
        model = Site
        fields = [
            "tenant",
            "name",
            "allowed_origins",
            "abandonment_timeout_seconds",
            "outreach_delay_seconds",
            "attribution_window_seconds",
            "is_active",
            "classifier_backend",
            "escalation_backend",
            "escalation_threshold",
        ]


@admin.register(Site)
class SiteAdmin(TenantScopedAdmin):
    form = SiteForm
    fields = [*SiteForm.Meta.fields, "site_key", "snippet_tag"]
    list_display = ["name", "tenant", "site_key", "is_active", "classifier_backend", "abandonment_timeout_seconds", "created_at"]
    ordering = ["name"]
    list_filter = ["is_active", "classifier_backend"]
    search_fields = ["name", "site_key"]
    readonly_fields = ["site_key", "snippet_tag"]

    def get_readonly_fields(self, request, obj=None):
        # A site's tenant is fixed: its sessions carry that tenant too, so a move would split its history.
        return self.readonly_fields if obj is None else ["tenant", *self.readonly_fields]

    @admin.display(description="Install")
    def snippet_tag(self, site: Site) -> str:
        if not site.site_key:
            return "(shown once the site is saved)"
        return format_html(
            '<code>&lt;script src="https://YOUR-FORMRECAP-HOST/snippet/v1/formrecap.js"'
            ' data-site-key="{}" async&gt;&lt;/script&gt;</code>',
            site.site_key,
        )

    def save_model(self, request, obj: Site, form, change: bool) -> None:
        if not change:
            obj.site_key = new_site_key()
        super().save_model(request, obj, form, change)


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple, initial=["read"])

    class Meta:
        model = ApiKey
        fields = ["tenant", "name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    form = ApiKeyForm
    list_display = ["name", "tenant", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    def get_fields(self, request, obj=None):
        return ["tenant", "name", "scopes"] if obj is None else ["tenant", "name", "scopes", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        # A key's tenant and scopes are fixed once issued: rotate by creating a new key.
        return [] if obj is None else ["tenant", "scopes", *self.readonly_fields]

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        issued = api_key_create(tenant=obj.tenant, name=obj.name, scopes=form.cleaned_data["scopes"], created_by=request.user)
        # The admin goes on to log and link to obj, so make it the stored row (which has no secret).
        obj.pk = issued.api_key.pk
        obj.refresh_from_db()
        # Handed to response_add on the request, never to messages (which would put it in a cookie or session row).
        request._formrecap_issued_secret = issued.secret

    def response_add(self, request, obj: ApiKey, post_url_continue=None):
        """The one page that ever shows the secret: rendered directly, not cached, not stored."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Copy your API key",
            "api_key": obj,
            "secret": request._formrecap_issued_secret,
        }
        response = TemplateResponse(request, "admin/formrecap/apikey/secret_once.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request, queryset) -> None:
        allowed = queryset if request.user.is_superuser else queryset.filter(tenant_id__in=editable_tenant_ids(request))
        count = allowed.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


class TraceChunkInline(admin.TabularInline):
    model = TraceChunk
    fields = ["seq", "event_count", "received_at", "events_pretty"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # Chunks belong to their session (obj): whoever may view it may read its trace.
        return self.admin_site.get_model_admin(FormSession).has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="events")
    def events_pretty(self, chunk: TraceChunk) -> str:
        return format_html("<pre style='white-space:pre-wrap;margin:0'>{}</pre>", json.dumps(chunk.events, indent=None)[:4000])


@admin.register(FormSession)
class FormSessionAdmin(TenantScopedAdmin):
    list_display = [
        "session_uuid",
        "site",
        "form_id",
        "path",
        "status",
        "event_count",
        "visitor_ref",
        "started_at",
        "last_event_at",
    ]
    list_filter = ["status", TenantSiteListFilter]
    search_fields = ["session_uuid", "form_id", "path", "visitor_ref"]
    date_hierarchy = "started_at"
    inlines = [PredictionInline, TraceChunkInline]
    readonly_fields = [f.name for f in FormSession._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # sessions come from the snippet only

    def has_change_permission(self, request, obj=None) -> bool:
        return False
