"""The model-version registry: every trained model (embedded now, LoRA adapters later) is a row here."""

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
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    status_reason = models.TextField(blank=True)
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
