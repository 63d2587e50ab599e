"""What operators are told: one row per event that needs them, shown in admin and emailed once."""

from django.db import models

from formrecap.models import Tenant
from formrecap.tenancy import TenantManager


class Notification(models.Model):
    class Kind(models.TextChoices):
        UX_ALERT_OPENED = "ux_alert_opened", "UX alert opened"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook endpoint disabled"
        TRAINING_FAILED = "training_failed", "Training run failed"
        CANDIDATE_HELD_BACK = "candidate_held_back", "Candidate held back by the gate"

    # Empty: system-wide (training runs, the model registry), for superusers only.
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=300, blank=True, help_text="Admin path of the object the notification is about.")
    # One row per event, whoever reports it and however often (a redelivered task, a retried handler).
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True, help_text="When the email was handed to the mail backend.")

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "read_at"], name="notification_tenant_unread")]

    def __str__(self) -> str:
        return self.title
