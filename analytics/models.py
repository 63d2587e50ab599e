"""Per-(session, field) figures, written when a session ends, so that field analytics are SQL aggregates."""

from django.db import models

from formrecap.models import FormSession, Site, Tenant
from formrecap.tenancy import TenantManager


class FieldStat(models.Model):
    """One field of one ended (submitted or abandoned) session; see analytics.field_summary for each figure."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="field_stats")
    # Denormalised from the session: every field query is one indexed filter on this table.
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="field_stats")
    session = models.ForeignKey(FormSession, on_delete=models.CASCADE, related_name="field_stats")
    form_id = models.CharField(max_length=128)
    started_at = models.DateTimeField()
    submitted = models.BooleanField(help_text="The session was submitted (else abandoned).")
    field = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField()
    focus_count = models.PositiveIntegerField()
    time_ms = models.PositiveIntegerField()
    inputs = models.PositiveIntegerField()
    corrections = models.PositiveIntegerField()
    failures = models.PositiveIntegerField()
    reason = models.CharField(max_length=64, blank=True, help_text="The most frequent validation reason on this field.")
    is_last = models.BooleanField()

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        constraints = [models.UniqueConstraint(fields=["session", "field"], name="fieldstat_once_per_session_field")]
        indexes = [models.Index(fields=["tenant", "site", "form_id", "started_at"], name="fieldstat_tenant_form_day")]

    def __str__(self) -> str:
        return f"{self.field} of session {self.session_id}"
