"""Predictions: one per (session, model version), or one per API request."""

from django.db import models
from django.db.models import Q

from formrecap.models import FormSession, Tenant
from formrecap.tenancy import TenantManager
from training.models import ModelVersion

from .labels import CLASSES


class Prediction(models.Model):
    class Source(models.TextChoices):
        SESSION = "session", "Abandoned session"
        API = "api", "API request"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="predictions")
    session = models.ForeignKey(FormSession, null=True, blank=True, on_delete=models.CASCADE, related_name="predictions")
    source = models.CharField(max_length=16, choices=Source.choices)
    model_version = models.ForeignKey(ModelVersion, null=True, on_delete=models.PROTECT, related_name="predictions")
    backend = models.CharField(max_length=32)
    code = models.PositiveSmallIntegerField(choices=[(code, name) for code, name in CLASSES.items()])
    probabilities = models.JSONField(help_text='{"1": p1, …, "6": p6}')
    confidence = models.FloatField()
    calibrated = models.BooleanField()
    explanation = models.JSONField(default=dict)
    latency_ms = models.FloatField()
    # Where a router chose (the cascade): which backend answered and why, and the first reading when it escalated.
    routing = models.JSONField(default=dict, blank=True)
    # Events of the session this prediction read: a session that grows after its exit is re-read.
    events_seen = models.PositiveIntegerField(default=0)
    # Provisional: read while the session was hidden or had just exited (shown at once, never acted on);
    # final once the session is abandoned for good, trailing inactivity included. Recovery plans only final ones.
    final = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "model_version"],
                condition=Q(session__isnull=False),
                name="prediction_once_per_session_and_model",
            )
        ]
        indexes = [models.Index(fields=["tenant", "code", "-created_at"], name="prediction_tenant_class")]

    def __str__(self) -> str:
        return f"{self.label} ({self.confidence:.2f})"

    @property
    def label(self) -> str:
        return CLASSES[self.code]


class SessionLabel(models.Model):
    """An operator's verdict on why a session was abandoned; these labels feed retraining."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="session_labels")
    session = models.OneToOneField(FormSession, on_delete=models.CASCADE, related_name="label")
    code = models.PositiveSmallIntegerField(choices=[(code, name) for code, name in CLASSES.items()])
    labelled_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"

    def __str__(self) -> str:
        return f"{self.session_id}: {CLASSES[self.code]}"
