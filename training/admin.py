"""Django admin for datasets, training runs and the model-version registry.

These serve every tenant, so only superusers see or change them. Runs are started, followed,
promoted and rolled back here through the services (training/runs.py, training/promotion.py).
"""

import json
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from .deployment import DeploymentFailed
from .held_out import held_out_entries
from .lora.config import PROFILES, AdapterTrainingConfig, ConfigError
from .models import Dataset, ModelComparison, ModelVersion, TrainingRun
from .promotion import model_version_rollback, promotion_gate_apply
from .runs import training_config_prepare, training_run_create, training_run_enqueue
from .services import model_version_activate


def _number(value, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "–"


def _pretty_json(value) -> str:
    return format_html("<pre style='white-space:pre-wrap;margin:0'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


def _pre(text: str) -> str:
    return format_html("<pre style='white-space:pre-wrap;margin:0'>{}</pre>", text) if text else "–"


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Global (not tenant-owned) models: superusers only; tenant staff do not even see the section."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Needed for the actions; the fields stay read-only.
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# --- Datasets -------------------------------------------------------------------------------------


@admin.register(Dataset)
class DatasetAdmin(SuperuserOnlyAdmin):
    list_display = ["__str__", "name", "version", "sources_summary", "examples", "content_hash", "created_at"]
    list_filter = ["name"]
    search_fields = ["name", "content_hash"]
    ordering = ["-created_at", "-id"]
    fields = ["name", "version", "path", "sources_summary", "content_hash", "created_at", "manifest_pretty"]
    readonly_fields = fields

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a dataset is immutable: assemble a new version instead

    @admin.display(description="sources")
    def sources_summary(self, dataset: Dataset) -> str:
        return ", ".join(f"{source} {count}" for source, count in sorted((dataset.sources or {}).items())) or "–"

    @admin.display(description="examples")
    def examples(self, dataset: Dataset) -> str:
        splits = (dataset.manifest or {}).get("splits") or {}
        if not splits:
            return "–"
        counts = {part: sum(by_class.values()) for part, by_class in splits.items()}
        return " / ".join(f"{counts.get(part, 0)}" for part in ("train", "validation", "test"))

    @admin.display(description="manifest")
    def manifest_pretty(self, dataset: Dataset) -> str:
        return _pretty_json(dataset.manifest)


# --- Training runs ----------------------------------------------------------------------------------


class TrainingRunAddForm(forms.ModelForm):
    """A new run: dataset, runner, LoRA profile, base model (a hub name, a volume path or a local folder)."""

    profile = forms.ChoiceField(choices=[(name, name) for name in PROFILES], initial="research")
    epochs = forms.FloatField(initial=AdapterTrainingConfig.epochs, min_value=0.01)
    max_steps = forms.IntegerField(
        initial=AdapterTrainingConfig.max_steps, help_text="Above 0 it overrides epochs (a smoke run); -1 trains by epochs."
    )

    class Meta:
        model = TrainingRun
        fields = ["dataset", "runner", "profile", "base_model"]

    def config(self) -> AdapterTrainingConfig:
        data = self.cleaned_data
        return AdapterTrainingConfig(
            base_model=data["base_model"].strip(), profile=data["profile"], epochs=data["epochs"], max_steps=data["max_steps"]
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.errors:
            try:
                training_config_prepare(self.config())  # refused here rather than as a failed run
            except ConfigError as exc:
                raise ValidationError(str(exc)) from exc
        return cleaned


@admin.register(TrainingRun)
class TrainingRunAdmin(SuperuserOnlyAdmin):
    list_display = [
        "__str__",
        "status",
        "runner",
        "profile",
        "base_model",
        "dataset",
        "duration",
        "best_eval_loss",
        "model_version",
        "triggered_by",
        "created_at",
    ]
    list_filter = ["status", "runner", "profile"]
    list_select_related = ["dataset", "model_version"]
    search_fields = ["base_model", "external_id", "triggered_by"]
    ordering = ["-created_at", "-id"]
    actions = ["start_queued", "poll_running"]
    readonly_fields = [
        "status",
        "runner",
        "profile",
        "base_model",
        "dataset",
        "triggered_by",
        "external_id",
        "created_at",
        "started_at",
        "finished_at",
        "duration",
        "best_eval_loss",
        "model_version",
        "losses_pretty",
        "config_pretty",
        "logs_shown",
        "error_shown",
    ]
    add_form = TrainingRunAddForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is None:
            return ["dataset", "runner", "profile", "base_model", "epochs", "max_steps"]
        return self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def save_model(self, request: HttpRequest, obj: TrainingRun, form, change: bool) -> None:
        if change:
            return  # every field of an existing run is read-only
        run = training_run_create(
            dataset=form.cleaned_data["dataset"],
            runner=form.cleaned_data["runner"],
            config=form.config(),
            triggered_by=f"admin user {request.user}"[:100],
        )
        training_run_enqueue(run=run)  # after this request's transaction commits
        obj.pk = run.pk
        obj.refresh_from_db()

    @admin.display(description="duration")
    def duration(self, run: TrainingRun) -> str:
        seconds = run.duration_seconds
        if seconds is None:
            return "–"
        minutes, seconds = divmod(round(seconds), 60)
        return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"

    @admin.display(description="best eval loss")
    def best_eval_loss(self, run: TrainingRun) -> str:
        return _number((run.losses or {}).get("best_eval"), 4)

    @admin.display(description="losses")
    def losses_pretty(self, run: TrainingRun) -> str:
        return _pretty_json(run.losses)

    @admin.display(description="config")
    def config_pretty(self, run: TrainingRun) -> str:
        return _pretty_json(run.config)

    @admin.display(description="logs")
    def logs_shown(self, run: TrainingRun) -> str:
        return _pre(run.logs)

    @admin.display(description="error")
    def error_shown(self, run: TrainingRun) -> str:
        return _pre(run.error)

    @admin.action(description="Start selected queued runs", permissions=["change"])
    def start_queued(self, request: HttpRequest, queryset: QuerySet) -> None:
        runs = list(queryset.filter(status=TrainingRun.Status.QUEUED).order_by("created_at", "pk"))
        for run in runs:
            training_run_enqueue(run=run)
        skipped = queryset.count() - len(runs)
        if runs:
            self.message_user(request, f"Sent {len(runs)} queued run(s) to a worker: {', '.join(str(r.pk) for r in runs)}.")
        if skipped:
            self.message_user(request, f"Skipped {skipped} run(s) that are not queued.", messages.WARNING)

    @admin.action(description="Poll selected running remote runs now", permissions=["change"])
    def poll_running(self, request: HttpRequest, queryset: QuerySet) -> None:
        runs = list(queryset.filter(status=TrainingRun.Status.RUNNING).exclude(external_id="").order_by("pk"))
        for run in runs:
            training_run_enqueue(run=run)
        skipped = queryset.count() - len(runs)
        if runs:
            self.message_user(request, f"Polling {len(runs)} running remote run(s): {', '.join(str(r.pk) for r in runs)}.")
        if skipped:
            self.message_user(request, f"Skipped {skipped} run(s) that are not running on a remote runner.", messages.WARNING)


# --- Model versions ------------------------------------------------------------------------------


def _metric(model_version: ModelVersion, split: str, name: str) -> str:
    return _number((model_version.metrics or {}).get(split, {}).get(name))


def _held_out(model_version: ModelVersion, name: str) -> str:
    """``hand_labelled 0.912 · browser_test 0.880``: one figure per held-out set (the files' sha256 are in the
    metrics; the gate re-checks them). Versions from before the sets were fingerprinted show their one set so."""
    entries = held_out_entries(model_version.metrics)
    legacy = (model_version.metrics or {}).get("hand_labelled")
    if not entries and isinstance(legacy, dict):
        return f"hand_labelled {_number(legacy.get(name))} (file not fingerprinted)"
    return " · ".join(f"{set_name} {_number(entry.get(name))}" for set_name, entry in entries.items()) or "–"


@admin.register(ModelVersion)
class ModelVersionAdmin(SuperuserOnlyAdmin):
    list_display = [
        "label",
        "kind",
        "status",
        "held_out_macro_f1",
        "held_out_ece",
        "test_macro_f1",
        "test_ece",
        "temperature_shown",
        "status_reason",
        "created_at",
        "activated_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["name"]
    ordering = ["-created_at", "-id"]
    actions = ["activate", "apply_gate", "roll_back"]
    readonly_fields = [
        "kind",
        "name",
        "version",
        "status",
        "status_reason",
        "artifact_uri",
        "temperature",
        "verbalized_calibration",
        "deployments",
        "metrics",
        "training_config",
        "data_manifest",
        "created_at",
        "activated_at",
    ]
    fields = readonly_fields
    # Versions are registered by training (`manage.py train_embedded`, training runs); predictions refer to
    # them, so they are retired rather than deleted.

    @admin.display(description="macro-F1 (held-out)")
    def held_out_macro_f1(self, model_version: ModelVersion) -> str:
        return _held_out(model_version, "macro_f1")

    @admin.display(description="ECE (held-out)")
    def held_out_ece(self, model_version: ModelVersion) -> str:
        return _held_out(model_version, "ece")

    @admin.display(description="macro-F1 (test)")
    def test_macro_f1(self, model_version: ModelVersion) -> str:
        return _metric(model_version, "test_terse" if "test_terse" in (model_version.metrics or {}) else "test", "macro_f1")

    @admin.display(description="ECE (test)")
    def test_ece(self, model_version: ModelVersion) -> str:
        return _metric(model_version, "test_terse" if "test_terse" in (model_version.metrics or {}) else "test", "ece")

    @admin.display(description="temperature", ordering="temperature")
    def temperature_shown(self, model_version: ModelVersion) -> str:
        return _number(model_version.temperature)

    @admin.action(description="Activate the selected model version", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model version to activate.", messages.ERROR)
            return
        try:
            model_version = model_version_activate(model_version=queryset.get(), reason=f"activated in admin by {request.user}")
        except DeploymentFailed as exc:
            self.message_user(request, f"Not activated, the active version stays: deployment failed: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Activated {model_version.label}; the {model_version.kind} model active before is retired.")

    @admin.action(description="Apply the promotion gate to the selected candidates", permissions=["change"])
    def apply_gate(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Oldest first: a newer candidate then has to hold its own against one promoted a moment ago.
        for model_version in queryset.order_by("created_at", "pk"):
            if model_version.status != ModelVersion.Status.CANDIDATE:
                self.message_user(request, f"Not gated: {model_version.label} is {model_version.status}.", messages.WARNING)
                continue
            promoted, reason = promotion_gate_apply(candidate=model_version)
            level = messages.SUCCESS if promoted else messages.WARNING
            self.message_user(request, f"Gate on {model_version.label}: {reason}", level)

    @admin.action(description="Roll back to the previous active version (per kind)", permissions=["change"])
    def roll_back(self, request: HttpRequest, queryset: QuerySet) -> None:
        for kind in sorted(set(queryset.values_list("kind", flat=True))):
            try:
                model_version = model_version_rollback(kind=kind)
            except (ValueError, DeploymentFailed) as exc:
                self.message_user(request, f"Nothing rolled back: {exc}.", messages.ERROR)
                continue
            self.message_user(request, f"Rolled back the {kind} model to {model_version.label} ({model_version.status_reason}).")


@admin.register(ModelComparison)
class ModelComparisonAdmin(SuperuserOnlyAdmin):
    """Reports written by `python manage.py compare_models`; read-only here."""

    list_display = ["created_at", "dataset_name", "backends", "best"]
    fields = ["created_at", "dataset", "dataset_sha256", "backends", "table", "charts_shown"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="dataset")
    def dataset_name(self, comparison: ModelComparison) -> str:
        return Path(comparison.dataset).name

    @admin.display(description="best macro-F1")
    def best(self, comparison: ModelComparison) -> str:
        scored = [row for row in comparison.report.get("backends", []) if row.get("macro_f1") is not None]
        if not scored:
            return "—"
        top = max(scored, key=lambda row: row["macro_f1"])
        return f"{top['backend']} {top['macro_f1']:.3f} (ECE {top['ece']:.3f})"

    @admin.display(description="report")
    def table(self, comparison: ModelComparison) -> str:
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', comparison.markdown)

    @admin.display(description="charts")
    def charts_shown(self, comparison: ModelComparison) -> str:
        return format_html_join(
            "",
            '<figure style="margin:0 0 16px"><img alt="{}" src="data:image/png;base64,{}" style="max-width:100%">'
            "<figcaption>{}</figcaption></figure>",
            ((name, data, name) for name, data in sorted(comparison.charts.items())),
        )
