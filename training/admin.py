"""Django admin for the model-version registry. Models serve every tenant, so only superusers see or change them."""

from django.contrib import admin, messages
from django.http import HttpRequest

from .models import ModelVersion
from .services import model_version_activate


def _metric(model_version: ModelVersion, split: str, name: str) -> str:
    value = (model_version.metrics or {}).get(split, {}).get(name)
    return f"{value:.3f}" if isinstance(value, int | float) else "–"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "label",
        "kind",
        "name",
        "version",
        "status",
        "temperature",
        "test_macro_f1",
        "test_ece",
        "created_at",
        "activated_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["name"]
    ordering = ["-created_at", "-id"]
    actions = ["activate"]
    readonly_fields = [
        "kind",
        "name",
        "version",
        "status",
        "status_reason",
        "artifact_uri",
        "temperature",
        "metrics",
        "training_config",
        "data_manifest",
        "created_at",
        "activated_at",
    ]
    fields = readonly_fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Needed for the Activate action; every field stays read-only (a model is changed by training it again).
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions are registered by training (`manage.py train_embedded`)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # predictions refer to them; retire a version instead

    @admin.display(description="macro-F1 (test)")
    def test_macro_f1(self, model_version: ModelVersion) -> str:
        return _metric(model_version, "test_terse", "macro_f1")

    @admin.display(description="ECE (test)")
    def test_ece(self, model_version: ModelVersion) -> str:
        return _metric(model_version, "test_terse", "ece")

    @admin.action(description="Activate the selected model version", permissions=["change"])
    def activate(self, request: HttpRequest, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model version to activate.", messages.ERROR)
            return
        model_version = model_version_activate(model_version=queryset.get(), reason=f"activated in admin by {request.user}")
        self.message_user(request, f"Activated {model_version.label}; the {model_version.kind} model active before is retired.")
