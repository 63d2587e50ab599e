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
    # The tenant's best custom reason for this reading (classifier/custom_reasons), or none close enough.
    custom_reason = models.ForeignKey(
        "CustomReason", null=True, blank=True, on_delete=models.SET_NULL, related_name="predictions"
    )
    custom_reason_score = models.FloatField(null=True, blank=True)
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


class CustomReason(models.Model):
    """A tenant's own reason under one of the six classes (or under none), learnt from a few example sessions."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="custom_reasons")
    name = models.SlugField(max_length=64, allow_unicode=False, help_text="e.g. coupon_hunting")
    description = models.TextField(blank=True, help_text="What the visitor does; shown to LLM backends.")
    parent_code = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(code, name) for code, name in CLASSES.items()], help_text="Empty: any class."
    )
    # What the last fit learnt (classifier/custom_reasons/prototypes.py): threshold, leave-one-out figures.
    fit = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="custom_reason_name_once_per_tenant")]

    def __str__(self) -> str:
        return self.name

    @property
    def parent_label(self) -> str:
        return CLASSES.get(self.parent_code, "any class")


class CustomReasonExample(models.Model):
    """A session that shows a custom reason; its feature vector is kept so that fits need no trace re-read."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="custom_reason_examples")
    reason = models.ForeignKey(CustomReason, on_delete=models.CASCADE, related_name="examples")
    session = models.ForeignKey(FormSession, on_delete=models.CASCADE, related_name="custom_reason_examples")
    features = models.JSONField(help_text="the trace's features (classifier/features.py), as the session was then")
    field_names = models.JSONField(default=list, help_text="fields touched, in order (names only, never values)")
    created_at = models.DateTimeField(auto_now_add=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["reason", "session"], name="custom_reason_example_once")]

    def __str__(self) -> str:
        return f"{self.reason} ← session {self.session_id}"
