"""Django admin for predictions (read-only, also inline on a session's page) and operator labels; tenant-scoped
through TenantScopedAdmin."""

from django.contrib import admin
from django.db.models import QuerySet
from django.utils.html import format_html, format_html_join

from formrecap.admin_tenancy import TenantScopedAdmin, TenantSiteListFilter
from formrecap.models import FormSession

from .labels import CLASSES
from .models import Prediction, SessionLabel
from .selectors import session_trace
from .trace import TraceError, serialise_trace


class ConfidenceBandFilter(admin.SimpleListFilter):
    title = "confidence"
    parameter_name = "confidence"
    bands = {"high": (0.8, None), "medium": (0.5, 0.8), "low": (None, 0.5)}

    def lookups(self, request, model_admin):
        return [("high", "≥ 0.8"), ("medium", "0.5 – 0.8"), ("low", "< 0.5")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() not in self.bands:
            return queryset
        low, high = self.bands[self.value()]
        if low is not None:
            queryset = queryset.filter(confidence__gte=low)
        if high is not None:
            queryset = queryset.filter(confidence__lt=high)
        return queryset


class PredictionSiteFilter(TenantSiteListFilter):
    site_lookup = "session__site_id"  # API predictions have no session, so no site: any site filter hides them


class LabelSiteFilter(TenantSiteListFilter):
    site_lookup = "session__site_id"


class PredictionColumns:
    """How a prediction reads in admin, shared by its own pages and the inline on a session."""

    @admin.display(description="class", ordering="code")
    def class_name(self, prediction: Prediction) -> str:
        return f"{prediction.code} {prediction.label}"

    @admin.display(description="confidence", ordering="confidence")
    def confidence_rounded(self, prediction: Prediction) -> str:
        return f"{prediction.confidence:.3f}"

    @admin.display(description="probabilities")
    def probabilities_ranked(self, prediction: Prediction) -> str:
        ranked = sorted((prediction.probabilities or {}).items(), key=lambda item: -item[1])
        return ", ".join(f"{CLASSES.get(int(code), code)} {p:.3f}" for code, p in ranked)

    @admin.display(description="explanation")
    def explanation_shown(self, prediction: Prediction) -> str:
        explanation = prediction.explanation or {}
        signals = format_html_join("", "<li>{}</li>", ((signal,) for signal in explanation.get("signals", [])))
        return format_html("{}<ul style='margin:0'>{}</ul>", explanation.get("reason", ""), signals)

    @admin.display(description="answered by")
    def routing_shown(self, prediction: Prediction) -> str:
        routing = prediction.routing or {}
        if not routing:
            return prediction.backend
        first = routing.get("first")
        before = f" (embedded read {first['class']} {first['confidence']:.2f})" if first else ""
        return f"{routing.get('answered_by', prediction.backend)}: {routing.get('reason', '')}{before}"


@admin.register(Prediction)
class PredictionAdmin(PredictionColumns, TenantScopedAdmin):
    list_display = [
        "created_at",
        "class_name",
        "confidence_rounded",
        "calibrated",
        "backend",
        "model_version",
        "source",
        "session",
        "tenant",
    ]
    list_filter = ["code", ConfidenceBandFilter, "calibrated", "backend", "source", PredictionSiteFilter]
    list_select_related = ["model_version", "session", "tenant"]
    ordering = ["-created_at", "-id"]
    date_hierarchy = "created_at"
    fields = [
        "tenant",
        "source",
        "session",
        "class_name",
        "confidence",
        "calibrated",
        "probabilities_ranked",
        "explanation_shown",
        "backend",
        "routing_shown",
        "model_version",
        "latency_ms",
        "created_at",
    ]
    readonly_fields = fields

    # Predictions are made by the classifier, never typed in. Deleting follows the tenant roles, so that
    # an editor can still delete a session (its predictions go with it).
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class PredictionInline(PredictionColumns, admin.TabularInline):
    """A session's predictions (one per model version) on the FormSession page."""

    model = Prediction
    fields = ["created_at", "class_name", "confidence_rounded", "calibrated", "model_version", "backend", "explanation_shown"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("model_version")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # Predictions belong to their session (obj): whoever may view it may read how it was classified.
        return self.admin_site.get_model_admin(FormSession).has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SessionLabel)
class SessionLabelAdmin(TenantScopedAdmin):
    """Operators say why a session was abandoned; these labels feed retraining (training.retrain_if_needed).

    The tenant is the session's, never picked: an editor can only choose among their own tenants' sessions.
    """

    list_display = ["session", "class_name", "labelled_by", "note", "tenant", "created_at", "updated_at"]
    list_filter = ["code", LabelSiteFilter]
    list_select_related = ["session", "tenant", "labelled_by"]
    search_fields = ["session__session_uuid", "session__form_id", "note"]
    ordering = ["-created_at", "-id"]
    raw_id_fields = ["session"]
    fields = ["session", "code", "note", "session_trace_shown", "tenant", "labelled_by", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        fixed = ["session_trace_shown", "tenant", "labelled_by", "created_at", "updated_at"]
        return ["session", *fixed] if obj is not None else fixed  # a label stays on its session

    def save_model(self, request, obj: SessionLabel, form, change: bool) -> None:
        obj.tenant_id = obj.session.tenant_id
        obj.labelled_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="class", ordering="code")
    def class_name(self, label: SessionLabel) -> str:
        return f"{label.code} {CLASSES[label.code]}"

    @admin.display(description="trace")
    def session_trace_shown(self, label: SessionLabel) -> str:
        if label is None or label.session_id is None:
            return "–"
        try:
            return serialise_trace(session_trace(session=label.session)) or "–"
        except TraceError as exc:
            return f"unreadable: {exc}"


from .custom_reasons import admin as custom_reasons_admin  # noqa: E402, F401 - registers CustomReasonAdmin
