"""Django admin for operators; isolation comes from TenantScopedAdmin."""

import json
from contextvars import ContextVar

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import F, OuterRef, Subquery
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from classifier.admin import ConfidenceBandFilter, PredictionInline
from classifier.labels import CLASSES

from .admin_tenancy import (
    TenantScopedAdmin,
    TenantSiteListFilter,
    editable_tenant_ids,
    member_tenant_ids,
    rendered_with,
)
from .credentials import new_site_key
from .models import ApiKey, FormSession, Membership, Site, Tenant, TraceChunk
from .selectors import form_session_events
from .services import api_key_create, normalise_origin
from .session_timeline import session_timeline
from .snippet import install_tag


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
    list_display = ["name", "slug", "time_zone", "created_at"]
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


# The admin request's origin, for the install tag (set per request in SiteAdmin.changeform_view).
_admin_origin: ContextVar[str] = ContextVar("admin_origin", default="https://YOUR-FORMRECAP-HOST")


@admin.register(Site)
class SiteAdmin(TenantScopedAdmin):
    form = SiteForm
    fields = [*SiteForm.Meta.fields, "site_key", "snippet_tag", "installation"]
    list_display = ["name", "tenant", "site_key", "is_active", "classifier_backend", "abandonment_timeout_seconds", "created_at"]
    ordering = ["name"]
    list_filter = ["is_active", "classifier_backend"]
    search_fields = ["name", "site_key"]
    readonly_fields = ["site_key", "snippet_tag", "installation"]

    def get_readonly_fields(self, request, obj=None):
        # A site's tenant is fixed: its sessions carry that tenant too, so a move would split its history.
        return self.readonly_fields if obj is None else ["tenant", *self.readonly_fields]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # the install tag names the host this admin is served from (FORMRECAP_PUBLIC_ORIGIN behind a proxy)
        origin = settings.FORMRECAP_PUBLIC_ORIGIN or request.build_absolute_uri("/").rstrip("/")
        return rendered_with(
            _admin_origin, origin, lambda: super(SiteAdmin, self).changeform_view(request, object_id, form_url, extra_context)
        )

    @admin.display(description="Install")
    def snippet_tag(self, site: Site) -> str:
        if not site.site_key:
            return "(shown once the site is saved)"
        return format_html(
            "<code>{}</code><br>Put it on every page with a form, before <code>&lt;/body&gt;</code> (or in the head).",
            install_tag(origin=_admin_origin.get(), site_key=site.site_key),
        )

    @admin.display(description="Installation check")
    def installation(self, site: Site) -> str:
        if not site.pk:
            return "(checked once the site is saved)"
        sessions = FormSession.all_tenants.filter(site_id=site.pk)
        first = sessions.order_by("started_at").values_list("started_at", flat=True).first()
        if first is None:
            return "No batch received yet: open a page with the tag, touch a field, then reload this page."
        latest = sessions.order_by("-last_event_at").values_list("last_event_at", flat=True).first()
        return (
            f"Installed: the first batch arrived {timezone.localtime(first):%Y-%m-%d %H:%M %Z}; the latest "
            f"{timezone.localtime(latest):%Y-%m-%d %H:%M %Z}; {sessions.count()} session(s) so far."
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


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [(str(code), name.replace("_", " ")) for code, name in CLASSES.items()] + [("none", "not classified")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(reason_code__isnull=True)
        if self.value() in {str(code) for code in CLASSES}:
            return queryset.filter(reason_code=int(self.value()))
        return queryset


class ReadingConfidenceFilter(ConfidenceBandFilter):
    """The confidence bands of the session's latest reading (the predictions list uses the same bands)."""

    def queryset(self, request, queryset):
        return super().queryset(request, queryset.alias(confidence=F("reason_confidence")))


def _latest_reading():
    from classifier.models import Prediction

    return Prediction.all_tenants.filter(session=OuterRef("pk")).order_by("-updated_at", "-pk")


class CustomReasonFilter(admin.SimpleListFilter):
    """Sessions by the custom reason of their latest reading, listing only the user's own tenants' reasons."""

    title = "custom reason"
    parameter_name = "custom_reason"

    def lookups(self, request, model_admin):
        from classifier.models import CustomReason

        reasons = CustomReason.all_tenants.all()
        if not request.user.is_superuser:
            reasons = reasons.filter(tenant_id__in=member_tenant_ids(request))
        return [(str(pk), name) for pk, name in reasons.order_by("name").values_list("pk", "name")[:100]]

    def queryset(self, request, queryset):
        if not (self.value() or "").isdigit():
            return queryset
        return queryset.alias(latest_custom_reason=Subquery(_latest_reading().values("custom_reason_id")[:1])).filter(
            latest_custom_reason=int(self.value())
        )


@admin.register(FormSession)
class FormSessionAdmin(TenantScopedAdmin):
    list_display = [
        "session_uuid",
        "site",
        "form_id",
        "status",
        "reason",
        "confidence_shown",
        "custom_reason_shown",
        "backend_shown",
        "recovery",
        "event_count",
        "started_at",
        "last_event_at",
    ]
    list_filter = ["status", ReasonFilter, ReadingConfidenceFilter, CustomReasonFilter, TenantSiteListFilter]
    search_fields = ["session_uuid", "form_id", "path", "visitor_ref"]
    date_hierarchy = "started_at"
    inlines = [PredictionInline, TraceChunkInline]
    readonly_fields = ["reading_shown", "recovery_shown", "timeline_shown", *(f.name for f in FormSession._meta.fields)]
    fieldsets = [
        ("Why they left", {"fields": ["reading_shown", "recovery_shown", "timeline_shown"]}),
        ("Session", {"fields": [f.name for f in FormSession._meta.fields]}),
    ]

    @admin.display(description="reading")
    def reading_shown(self, session: FormSession) -> str:
        prediction = session.predictions.order_by("-updated_at", "-pk").first()
        if prediction is None:
            return "not classified yet"
        ranked = sorted(prediction.probabilities.items(), key=lambda item: -item[1])
        bars = format_html_join(
            "",
            '<tr><td>{}</td><td style="width:12rem"><div style="background:#2f6db5;height:.7rem;width:{}%"></div></td>'
            "<td>{}</td></tr>",
            ((CLASSES[int(code)].replace("_", " "), round(p * 100, 1), f"{p:.3f}") for code, p in ranked),
        )
        explanation = prediction.explanation or {}
        signals = format_html_join("", "<li>{}</li>", ((signal,) for signal in explanation.get("signals", [])))
        state = "final" if prediction.final else "provisional (the visitor may still come back)"
        custom = (
            format_html("<p>Custom reason: <strong>{}</strong> at {}</p>", prediction.custom_reason.name,
                        f"{prediction.custom_reason_score:.2f}")
            if prediction.custom_reason is not None
            else ""
        )  # fmt: skip
        return format_html(
            "<p><strong>{}</strong> at {}, {} ({} via {})</p>{}<table>{}</table><p>{}</p><ul>{}</ul>",
            prediction.label.replace("_", " "), f"{prediction.confidence:.2f}", state,
            prediction.model_version.label if prediction.model_version else "no model", prediction.backend,
            custom, bars, explanation.get("reason", ""), signals,
        )  # fmt: skip

    @admin.display(description="recovery and after")
    def recovery_shown(self, session: FormSession) -> str:
        executions = session.action_executions.select_related("rule").order_by("pk")
        done = format_html_join(
            "",
            "<li>{}: {} ({}){}</li>",
            (
                (
                    execution.get_action_display(), execution.get_status_display(),
                    execution.rule.name if execution.rule and execution.rule.name else "rule",
                    f", recovered {timezone.localtime(execution.recovered_at):%Y-%m-%d %H:%M}" if execution.recovered_at else "",
                )
                for execution in executions
            ),
        )  # fmt: skip
        after = []
        if session.returned_at:
            after.append(f"came back {timezone.localtime(session.returned_at):%Y-%m-%d %H:%M}")
        if session.recovered_at:
            after.append(f"submitted (recovered) {timezone.localtime(session.recovered_at):%Y-%m-%d %H:%M}")
        return format_html("<ul>{}</ul><p>{}</p>", done or mark_safe("<li>no action</li>"), "; ".join(after) or "not back (yet)")

    @admin.display(description="timeline")
    def timeline_shown(self, session: FormSession) -> str:
        steps = session_timeline(form_session_events(session=session))
        if not steps:
            return "no events"
        rows = ((step.clock, step.what, step.text) for step in steps)
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>", rows)
        )

    def get_queryset(self, request):
        """Each row with its latest reading's backend and state and its latest recovery action, in the same query (no N+1).

        The reason and confidence are columns on the session itself (copied when a prediction is stored)."""
        from recovery.models import ActionExecution

        latest = _latest_reading()
        acted = ActionExecution.all_tenants.filter(session=OuterRef("pk")).order_by("-pk")
        return (
            super()
            .get_queryset(request)
            .select_related("site")
            .annotate(
                reason_backend=Subquery(latest.values("backend")[:1]),
                reason_final=Subquery(latest.values("final")[:1]),
                custom_reason_name=Subquery(latest.values("custom_reason__name")[:1]),
                custom_reason_score=Subquery(latest.values("custom_reason_score")[:1]),
                recovery_action=Subquery(acted.values("action")[:1]),
                recovery_status=Subquery(acted.values("status")[:1]),
            )
        )

    @admin.display(description="reason", ordering="reason_code")
    def reason(self, session: FormSession) -> str:
        if session.reason_code is None:
            return "—"
        name = CLASSES.get(session.reason_code, "?").replace("_", " ")
        return name if session.reason_final else f"{name} (provisional)"

    @admin.display(description="custom reason")
    def custom_reason_shown(self, session: FormSession) -> str:
        name = getattr(session, "custom_reason_name", None)
        return "—" if not name else f"{name} ({session.custom_reason_score:.2f})"

    @admin.display(description="confidence", ordering="reason_confidence")
    def confidence_shown(self, session: FormSession) -> str:
        return "—" if session.reason_confidence is None else f"{session.reason_confidence:.2f}"

    @admin.display(description="backend", ordering="reason_backend")
    def backend_shown(self, session: FormSession) -> str:
        return session.reason_backend or "—"

    @admin.display(description="recovery", ordering="recovery_action")
    def recovery(self, session: FormSession) -> str:
        if not session.recovery_action:
            return "—"
        return f"{session.recovery_action.replace('_', ' ')}: {session.recovery_status}"

    def has_add_permission(self, request) -> bool:
        return False  # sessions come from the snippet only

    def has_change_permission(self, request, obj=None) -> bool:
        return False
