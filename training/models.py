"""The model-version registry: every trained model (embedded now, LoRA adapters later) is a row here."""

from pathlib import Path

from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        EMBEDDED = "embedded", "Embedded CPU model"
        LORA = "lora", "LoRA adapter"

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    artifact_uri = models.CharField(max_length=500, help_text="Folder (or volume path) holding the weights.")
    training_config = models.JSONField(default=dict)
    data_manifest = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    temperature = models.FloatField(default=1.0)
    # For backends with no log-probs (Cloudflare): stated confidence -> P(correct), fitted on the validation split
    # (training/verbalized.py), {"method", "x", "y", "n", "ece_before", "ece_after", ...}; empty: none fitted.
    verbalized_calibration = models.JSONField(default=dict, blank=True)
    # Where the adapter is served, by backend: {"cloudflare": {"finetune_id", "name", "model", "published_at", ...}}.
    deployments = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    status_reason = models.TextField(blank=True)
    # The version that was live when this one was activated: rollback goes back along these links.
    previous_active = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="modelversion_unique_version"),
            models.UniqueConstraint(fields=["kind"], condition=Q(status="active"), name="modelversion_one_active_per_kind"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.name}:v{self.version}"


class Dataset(models.Model):
    """A versioned training set: chat records in the model format, split, with a manifest and content hash."""

    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    path = models.CharField(max_length=500, help_text="Folder with train/validation/test JSONL files and manifest.json.")
    sources = models.JSONField(default=dict, help_text="Examples per source (simulator, claude, operator).")
    manifest = models.JSONField(default=dict)
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="dataset_unique_version")]

    def __str__(self) -> str:
        return f"{self.name}:v{self.version}"


class TrainingRun(models.Model):
    """One fine-tuning job, followed from queued to its end by Celery."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Runner(models.TextChoices):
        LOCAL = "local", "Local (in-process)"
        MODAL = "modal", "Modal GPU"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    runner = models.CharField(max_length=16, choices=Runner.choices, default=Runner.LOCAL)
    profile = models.CharField(max_length=32, default="research")
    base_model = models.CharField(max_length=300)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="training_runs")
    config = models.JSONField(default=dict)
    external_id = models.CharField(max_length=200, blank=True, help_text="The remote job id (Modal function call).")
    logs = models.TextField(blank=True)
    error = models.TextField(blank=True)
    losses = models.JSONField(default=dict)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_runs"
    )
    triggered_by = models.CharField(max_length=100, blank=True, help_text="admin user, command, or beat retraining")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ModelComparison(models.Model):
    """A `compare_models` report: backends side by side on one labelled set, with its charts (shown in admin)."""

    dataset = models.CharField(max_length=500)
    dataset_sha256 = models.CharField(max_length=64)
    backends = models.CharField(max_length=500, help_text="as asked, e.g. embedded,peft:12,claude")
    report = models.JSONField(help_text="per backend: macro-F1 with CI, per-class F1, ECE, Brier, n, latency; skipped ones")
    markdown = models.TextField()
    charts = models.JSONField(default=dict, help_text="file name -> base64 PNG")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"comparison {self.pk} on {Path(self.dataset).name}"
