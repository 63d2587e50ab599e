"""Django admin for recovery: rules (webhook secrets shown once), the execution log (read-only), the review queue
(where a human label is recorded), UX alerts, discount codes, settings, and uplift stats. Tenant-scoped through
TenantScopedAdmin."""

from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join, json_script

from classifier.custom_reasons.services import custom_reason_examples_add
from classifier.labels import CLASSES
from classifier.models import CustomReason, SessionLabel
from classifier.selectors import session_trace
from classifier.trace import TraceError, serialise_trace
from formrecap.admin_tenancy import (
    TenantScopedAdmin,
    TenantSiteListFilter,
    editable_tenant_ids,
    member_tenant_ids,
    rendered_with,
)
from formrecap.models import FormSession, Tenant

from .action_params import TEMPLATES, params_help_html
from .models import ActionExecution, DiscountCode, RecoveryRule, ReviewItem, TenantRecoverySettings, UxAlert
from .services import (
    RULE_FIELDS,
    recovery_rule_clean,
    recovery_rule_create,
    recovery_rule_rotate_secret,
    recovery_rule_update,
    rule_sends_webhooks,
)
from .services import review_item_label as review_item_label_service
from .stats import ArmCounts, arm_annotations, arms, recovery_uplift

CLASS_NAMES = {None: "any class", **CLASSES}


def _rate(arm: ArmCounts) -> str:
    return "–" if arm.rate is None else f"{arm.recovered}/{arm.n} ({arm.rate:.0%})"


def _secret_page(request, admin_site, opts, rule: RecoveryRule, secret: str, created: bool):
    """The one page that ever shows a webhook secret: rendered directly, not cached, not stored."""
    context = {
        **admin_site.each_context(request),
        "opts": opts,
        "title": "Copy the webhook signing secret",
        "rule": rule,
        "secret": secret,
        "created": created,
    }
    response = TemplateResponse(request, "admin/recovery/recoveryrule/secret_once.html", context)
    response["Cache-Control"] = "no-store"
    return response


# --- rules -------------------------------------------------------------------------------------------


class RecoveryRuleForm(forms.ModelForm):
    class Meta:
        model = RecoveryRule
        fields = ["tenant", *(field.removesuffix("_id") for field in RULE_FIELDS)]

    class Media:
        js = ["recovery/rule_templates.js"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "params" in self.fields:
            # the templates ride along as a JSON <script> element (escaped by json_script) for rule_templates.js
            self.fields["params"].help_text = format_html(
                "{}{}", params_help_html(), json_script(TEMPLATES, "formrecap-rule-templates")
            )

    def clean(self):
        cleaned = super().clean()
        tenant = self.instance.tenant if self.instance.pk else cleaned.get("tenant")
        if tenant is None or self.errors:
            return cleaned
        values = {field: cleaned.get(field.removesuffix("_id")) for field in RULE_FIELDS}
        values["site_id"] = cleaned["site"].pk if cleaned.get("site") else None
        values["custom_reason_id"] = cleaned["custom_reason"].pk if cleaned.get("custom_reason") else None
        values["params"] = {} if values["params"] in (None, "") else values["params"]  # left empty in the form
        try:
            # The rules the API applies too (one place): thresholds, the site's tenant, the webhook URL…
            values = recovery_rule_clean(tenant=tenant, values=values)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
            return cleaned
        cleaned["params"] = values["params"]
        self.rule_values = values
        return cleaned


class RuleListFilter(admin.SimpleListFilter):
    """Executions by rule, listing only the user's own tenants' rules."""

    title = "rule"
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        rules = RecoveryRule.all_tenants.order_by("-priority", "id")
        if not request.user.is_superuser:
            rules = rules.filter(tenant_id__in=member_tenant_ids(request))
        return [(rule.pk, str(rule)) for rule in rules]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        listed = {str(rule_id) for rule_id, _ in self.lookup_choices}
        return queryset.filter(rule_id=int(self.value())) if self.value() in listed else queryset.none()


@admin.register(RecoveryRule)
class RecoveryRuleAdmin(TenantScopedAdmin):
    form = RecoveryRuleForm
    change_list_template = "admin/recovery/recoveryrule/change_list.html"
    list_display = [
        "__str__",
        "tenant",
        "site",
        "class_shown",
        "confidence_range",
        "action",
        "priority",
        "holdout_share",
        "active",
        "treated_recovery",
        "holdout_recovery",
        "disabled_at",
    ]
    list_filter = ["action", "active", "class_code", TenantSiteListFilter]
    list_select_related = ["tenant", "site"]
    ordering = ["-priority", "id"]
    search_fields = ["name"]
    readonly_fields = ["consecutive_failures", "disabled_at", "created_at"]
    actions = ["rotate_secret"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**arm_annotations("executions__"))

    def get_fields(self, request, obj=None):
        fields = ["tenant", *(field.removesuffix("_id") for field in RULE_FIELDS)]
        return fields if obj is None else [*fields, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        # A rule's tenant is fixed: its executions and secrets carry that tenant too.
        return self.readonly_fields if obj is None else ["tenant", *self.readonly_fields]

    def save_model(self, request, obj: RecoveryRule, form, change: bool) -> None:
        values = {field: value for field, value in form.rule_values.items()}
        if change:
            stored = RecoveryRule.all_tenants.get(pk=obj.pk)  # the form has already set obj's fields
            saved = recovery_rule_update(rule=stored, **values)
        else:
            action = values.pop("action")
            saved = recovery_rule_create(tenant=obj.tenant, action=action, **values)
        # The admin goes on to log and link to obj, so make it the stored row.
        obj.pk = saved.rule.pk
        obj.refresh_from_db()
        # Handed to response_add/response_change on the request, never to messages (a cookie or session row).
        request._formrecap_webhook_secret = saved.secret

    def response_add(self, request, obj: RecoveryRule, post_url_continue=None):
        secret = getattr(request, "_formrecap_webhook_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(request, self.admin_site, self.opts, obj, secret, created=True)

    def response_change(self, request, obj: RecoveryRule):
        secret = getattr(request, "_formrecap_webhook_secret", None)
        if secret is None:
            return super().response_change(request, obj)
        return _secret_page(request, self.admin_site, self.opts, obj, secret, created=False)

    @admin.action(
        description="Rotate the webhook signing secret (one rule; the old one stays valid a day)", permissions=["change"]
    )
    def rotate_secret(self, request, queryset):
        allowed = queryset if request.user.is_superuser else queryset.filter(tenant_id__in=editable_tenant_ids(request))
        rules = [rule for rule in allowed[:2] if rule_sends_webhooks(action=rule.action, params=rule.params)]
        if len(rules) != 1 or queryset.count() != 1:
            self.message_user(request, "Select exactly one rule that sends webhooks to rotate its secret.", level="error")
            return None
        secret = recovery_rule_rotate_secret(rule=rules[0])
        return _secret_page(request, self.admin_site, self.opts, rules[0], secret, created=False)

    @admin.display(description="class", ordering="class_code")
    def class_shown(self, rule: RecoveryRule) -> str:
        return CLASS_NAMES[rule.class_code]

    @admin.display(description="confidence")
    def confidence_range(self, rule: RecoveryRule) -> str:
        return f"{rule.min_confidence:.2f} – {rule.max_confidence:.2f}"

    @admin.display(description="treated recovered")
    def treated_recovery(self, rule: RecoveryRule) -> str:
        return _rate(arms(rule)[0])

    @admin.display(description="holdout recovered")
    def holdout_recovery(self, rule: RecoveryRule) -> str:
        return _rate(arms(rule)[1])

    # --- the uplift page: per rule and class, with the confidence interval ---

    def get_urls(self):
        stats = path("stats/", self.admin_site.admin_view(self.stats_view), name="recovery_recoveryrule_stats")
        return [stats, *super().get_urls()]

    def stats_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenants = Tenant.objects.order_by("name")
        if not request.user.is_superuser:
            tenants = tenants.filter(pk__in=member_tenant_ids(request))
        tables = [(tenant, recovery_uplift(tenant=tenant)) for tenant in tenants]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Recovery uplift: treated vs holdout",
            "tables": [(tenant, rows) for tenant, rows in tables if rows],
        }
        return TemplateResponse(request, "admin/recovery/recoveryrule/stats.html", context)


# --- executions and what they produced -------------------------------------------------------------------


class ExecutionSiteFilter(TenantSiteListFilter):
    site_lookup = "session__site_id"


class RecoveredFilter(admin.SimpleListFilter):
    title = "recovered"
    parameter_name = "recovered"

    def lookups(self, request, model_admin):
        return [("yes", "Recovered"), ("no", "Not recovered")]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        return queryset.filter(recovered_at__isnull=self.value() == "no")


class ReadOnlyAdmin(TenantScopedAdmin):
    """Rows the system writes. Deleting follows the tenant roles, so an editor can still delete a session
    (what was done about it goes with it)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ActionExecution)
class ActionExecutionAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "session",
        "rule",
        "action",
        "class_shown",
        "confidence_rounded",
        "status",
        "run_after",
        "attempts",
        "recovered_at",
        "tenant",
    ]
    list_filter = ["status", "action", "class_code", RecoveredFilter, RuleListFilter, ExecutionSiteFilter]
    list_select_related = ["session", "rule", "tenant"]
    ordering = ["-created_at", "-id"]
    date_hierarchy = "created_at"
    search_fields = ["idempotency_key", "session__session_uuid"]
    readonly_fields = [field.name for field in ActionExecution._meta.fields]

    @admin.display(description="class", ordering="class_code")
    def class_shown(self, execution: ActionExecution) -> str:
        return f"{execution.class_code} {CLASSES[execution.class_code]}"

    @admin.display(description="confidence", ordering="confidence")
    def confidence_rounded(self, execution: ActionExecution) -> str:
        return f"{execution.confidence:.3f}"


@admin.register(DiscountCode)
class DiscountCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "amount", "expires_at", "redeemed_at", "order_ref", "execution", "tenant"]
    list_filter = ["redeemed_at"]
    list_select_related = ["tenant", "execution"]
    ordering = ["-expires_at", "-id"]
    search_fields = ["code", "order_ref"]
    readonly_fields = [field.name for field in DiscountCode._meta.fields]


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() not in ("open", "resolved"):
            return queryset
        return queryset.filter(resolved_at__isnull=self.value() == "open")


@admin.register(UxAlert)
class UxAlertAdmin(ReadOnlyAdmin):
    list_display = ["field", "site", "reason", "rate_shown", "validation_abandonments", "sessions", "updated_at", "resolved_at"]
    list_filter = [OpenFilter, TenantSiteListFilter]
    list_select_related = ["site", "tenant"]
    ordering = ["-updated_at", "-id"]
    search_fields = ["field", "reason"]
    readonly_fields = [field.name for field in UxAlert._meta.fields]
    actions = ["resolve"]

    def has_resolve_permission(self, request) -> bool:
        return self._may_edit(request)

    @admin.action(description="Mark selected alerts resolved", permissions=["resolve"])
    def resolve(self, request, queryset) -> None:
        allowed = queryset if request.user.is_superuser else queryset.filter(tenant_id__in=editable_tenant_ids(request))
        count = allowed.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(request, f"Resolved {count} alert(s).")

    @admin.display(description="rate", ordering="rate")
    def rate_shown(self, alert: UxAlert) -> str:
        return f"{alert.rate:.0%}"


# --- the review queue ------------------------------------------------------------------------------


class ReviewedFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("pending", "Waiting"), ("done", "Reviewed")]

    def queryset(self, request, queryset):
        if self.value() not in ("pending", "done"):
            return queryset
        return queryset.filter(reviewed_at__isnull=self.value() == "pending")


class ReviewForm(forms.ModelForm):
    class Media:
        js = ["recovery/review_keys.js"]

    # Nothing is pre-selected: an operator who only confirms the model's guess would teach it its own mistakes.
    label = forms.TypedChoiceField(
        choices=[("", "—"), *((code, f"{code} {name}") for code, name in CLASSES.items())],
        coerce=int,
        empty_value=None,
        help_text="Why was this form abandoned? Saved as the session's label, which feeds retraining.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    custom_reason = forms.ModelChoiceField(
        queryset=CustomReason.all_tenants.none(),
        required=False,
        help_text="Also an example of one of your custom reasons (Classifier → Custom reasons): attached on save.",
    )

    class Meta:
        model = ReviewItem
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The item's own tenant's reasons only (the queue shows one tenant's item at a time).
        self.fields["custom_reason"].queryset = CustomReason.all_tenants.filter(tenant_id=self.instance.tenant_id)
        label = SessionLabel.all_tenants.filter(session_id=self.instance.session_id).first() if self.instance.pk else None
        if label is not None:  # an operator's earlier verdict, to keep or change
            self.fields["label"].initial, self.fields["note"].initial = label.code, label.note


# The review queue this request may see (set in ReviewItemAdmin.change_view, read by its `queue` field).
_review_queue: ContextVar = ContextVar("review_queue", default=None)
QUEUE_ORDER = ("-created_at", "-id")  # the changelist's order among waiting items


def _waiting_after(items, item: ReviewItem) -> ReviewItem | None:
    waiting = items.filter(reviewed_at__isnull=True).exclude(pk=item.pk)
    older = Q(created_at__lt=item.created_at) | Q(created_at=item.created_at, id__lt=item.pk)
    return waiting.filter(older).order_by(*QUEUE_ORDER).first() or waiting.order_by(*QUEUE_ORDER).first()


def _waiting_before(items, item: ReviewItem) -> ReviewItem | None:
    waiting = items.filter(reviewed_at__isnull=True).exclude(pk=item.pk)
    newer = Q(created_at__gt=item.created_at) | Q(created_at=item.created_at, id__gt=item.pk)
    return waiting.filter(newer).order_by("created_at", "id").first()


@admin.register(ReviewItem)
class ReviewItemAdmin(TenantScopedAdmin):
    form = ReviewForm
    list_display = ["created_at", "session", "predicted", "reason", "reviewed_at", "label_shown", "tenant"]
    list_filter = [ReviewedFilter, TenantSiteListFilter]
    list_select_related = ["session", "prediction", "tenant", "session__label"]
    ordering = ["reviewed_at", "-created_at", "-id"]  # waiting first
    search_fields = ["session__session_uuid", "reason"]
    readonly_fields = ["queue", "session", "predicted", "reason", "trace", "created_at", "reviewed_at", "label_shown", "tenant"]

    def get_fields(self, request, obj=None):
        # Editors record the verdict in the form; analysts see it.
        verdict = ["label", "note", "custom_reason"] if self.has_change_permission(request, obj) else ["label_shown"]
        return ["queue", *verdict, *(field for field in self.readonly_fields if field not in ("queue", "label_shown"))]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # the queue's neighbours and counts come from what this user may see (set per request, read by `queue`)
        return rendered_with(
            _review_queue,
            self.get_queryset(request),
            lambda: super(ReviewItemAdmin, self).change_view(request, object_id, form_url, extra_context),
        )

    def response_change(self, request, obj: ReviewItem):
        """Saved: straight on to the next item waiting (the queue is worked through, not navigated back to)."""
        if "_continue" in request.POST or "_addanother" in request.POST:
            return super().response_change(request, obj)
        following = _waiting_after(self.get_queryset(request), obj)
        if following is None:
            self.message_user(request, "Labelled. The queue is empty.", messages.SUCCESS)
            return super().response_change(request, obj)
        self.message_user(request, "Labelled. Next in the queue:", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recovery_reviewitem_change", args=[following.pk]))

    @admin.display(description="queue")
    def queue(self, item: ReviewItem) -> str:
        items = _review_queue.get()
        if items is None or not item.pk:
            return "–"
        waiting = items.filter(reviewed_at__isnull=True)
        counts = dict(SessionLabel.all_tenants.filter(session__review_item__in=items).values_list("code").annotate(n=Count("pk")))
        labelled = ", ".join(f"{name.replace('_', ' ')} {counts.get(code, 0)}" for code, name in CLASSES.items())
        previous, following = _waiting_before(items, item), _waiting_after(items, item)
        link = '<a href="{}" accesskey="{}">{}</a>'
        nav = [
            format_html(link, reverse("admin:recovery_reviewitem_change", args=[other.pk]), key, text)
            for other, key, text in ((previous, "p", "← previous waiting (p)"), (following, "n", "next waiting (n) →"))
            if other is not None
        ]
        return format_html(
            '{} waiting · labelled so far: {}<br>{}<br><span class="help">Keys: 1–6 choose the class, n / p move on '
            "the queue, Enter saves and opens the next item.</span>",
            waiting.count(), labelled, format_html_join(" · ", "{}", ((part,) for part in nav)) or "no other item waiting",
        )  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields

    def get_queryset(self, request):
        # A session submitted after all needs no verdict: it leaves the queue.
        return super().get_queryset(request).exclude(session__status=FormSession.Status.SUBMITTED)

    def has_add_permission(self, request) -> bool:
        return False  # the recovery decision fills the queue

    def save_model(self, request, obj: ReviewItem, form, change: bool) -> None:
        review_item_label_service(
            review_item=obj, code=form.cleaned_data["label"], labelled_by=request.user, note=form.cleaned_data["note"]
        )
        reason = form.cleaned_data.get("custom_reason")
        if reason is not None:
            try:
                custom_reason_examples_add(reason=reason, session_ids=[obj.session_id])
            except ValidationError as exc:  # a full reason, an unreadable trace: the label is saved, the example not
                self.message_user(request, f"Not attached to {reason.name}: {' '.join(exc.messages)}", messages.WARNING)

    @admin.display(description="model's guess")
    def predicted(self, item: ReviewItem) -> str:
        prediction = item.prediction
        if prediction is None:
            return "–"
        calibrated = "" if prediction.calibrated else ", uncalibrated"
        return f"{prediction.code} {prediction.label} ({prediction.confidence:.2f}{calibrated})"

    @admin.display(description="label")
    def label_shown(self, item: ReviewItem) -> str:
        label = getattr(item.session, "label", None)
        return "–" if label is None else f"{label.code} {CLASSES[label.code]}"

    @admin.display(description="trace")
    def trace(self, item: ReviewItem) -> str:
        try:
            return serialise_trace(session_trace(session=item.session)) or "–"
        except TraceError as exc:
            return f"unreadable: {exc}"


# --- settings ------------------------------------------------------------------------------------------


@admin.register(TenantRecoverySettings)
class TenantRecoverySettingsAdmin(TenantScopedAdmin):
    list_display = ["tenant", "fallback", "ux_alert_threshold", "ux_alert_min_sessions"]
    list_select_related = ["tenant"]
    ordering = ["tenant__name"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["tenant"]  # one row per tenant, for good
