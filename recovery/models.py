"""Per-tenant recovery policies, the record of every action taken (once per session and rule), and outcomes."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from classifier.labels import CLASSES
from classifier.models import Prediction
from formrecap.models import FormSession, Site, Tenant
from formrecap.tenancy import TenantManager

CLASS_CHOICES = [(code, name) for code, name in CLASSES.items()]
UNIT = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class TenantRecoverySettings(models.Model):
    """What happens to a prediction no rule takes (uncalibrated, or below every threshold)."""

    class Fallback(models.TextChoices):
        REVIEW = "review", "Put it in the review queue"
        NOTHING = "nothing", "Do nothing"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="recovery_settings")
    fallback = models.CharField(max_length=16, choices=Fallback.choices, default=Fallback.REVIEW)
    # Alert when this share of a field's recent abandonments are validation errors on it.
    ux_alert_threshold = models.FloatField(default=0.2, validators=UNIT)
    ux_alert_min_sessions = models.PositiveIntegerField(default=20)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        verbose_name_plural = "tenant recovery settings"

    def __str__(self) -> str:
        return f"recovery settings of {self.tenant}"


class RecoveryRule(models.Model):
    class Action(models.TextChoices):
        EMAIL = "email", "Re-engagement email"
        WEBHOOK = "webhook", "Signed webhook"
        DISCOUNT = "discount", "Discount code"
        UX_ALERT = "ux_alert", "UX alert"
        REVIEW = "review", "Review queue"
        SUPPRESS = "suppress", "Do nothing (recorded)"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="recovery_rules")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="recovery_rules")
    name = models.CharField(max_length=200, blank=True)
    class_code = models.PositiveSmallIntegerField(null=True, blank=True, choices=CLASS_CHOICES, help_text="Empty: any class.")
    custom_reason = models.ForeignKey(
        "classifier.CustomReason",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recovery_rules",
        help_text="Empty: any. Set: only sessions whose best custom reason is this one.",
    )
    min_confidence = models.FloatField(default=0.0, validators=UNIT)
    max_confidence = models.FloatField(default=1.0, validators=UNIT)
    action = models.CharField(max_length=16, choices=Action.choices)
    params = models.JSONField(default=dict, blank=True, help_text='e.g. {"url": "https://…"} for a webhook')
    delay_seconds = models.PositiveIntegerField(default=0)
    cooldown_seconds = models.PositiveIntegerField(default=0, help_text="Per visitor: no repeat within this time.")
    priority = models.IntegerField(default=100, help_text="Higher wins.")
    holdout_share = models.FloatField(default=0.0, validators=UNIT, help_text="Share of matches kept as a control group.")
    active = models.BooleanField(default=True)
    # Webhook endpoints: consecutive failed deliveries, and when the endpoint was disabled for them.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return self.name or f"{self.get_action_display()} for {CLASSES.get(self.class_code, 'any class')}"


class WebhookSecret(models.Model):
    """A rule's signing secret (``whsec_…``, shown once). Rotation keeps the old one valid until it expires."""

    rule = models.ForeignKey(RecoveryRule, on_delete=models.CASCADE, related_name="webhook_secrets")
    secret = models.CharField(max_length=100)  # needed to sign, so stored (like any HMAC key); never returned again
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    all_tenants = models.Manager()
    objects = TenantManager(tenant_path="rule__tenant")

    class Meta:
        default_manager_name = "all_tenants"

    def __str__(self) -> str:
        return f"signing secret {self.pk} of rule {self.rule_id}"


class ActionExecution(models.Model):
    """One decision for one (session, rule): executed at most once, whatever the redeliveries."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"
        HOLDOUT = "holdout", "Held out (control group)"
        CANCELLED = "cancelled", "Cancelled (the visitor came back)"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="action_executions")
    session = models.ForeignKey(FormSession, on_delete=models.CASCADE, related_name="action_executions")
    rule = models.ForeignKey(RecoveryRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="executions")
    prediction = models.ForeignKey(Prediction, null=True, on_delete=models.SET_NULL, related_name="action_executions")
    action = models.CharField(max_length=16, choices=RecoveryRule.Action.choices)
    class_code = models.PositiveSmallIntegerField(choices=CLASS_CHOICES)
    confidence = models.FloatField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    run_after = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True, help_text="What was sent, or why it was skipped or failed.")
    idempotency_key = models.CharField(max_length=100, unique=True)
    recovered_at = models.DateTimeField(null=True, blank=True, help_text="The session was later submitted.")
    recovered_by_session = models.ForeignKey(
        FormSession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The submitted session that recovered it: this one, or the visitor's later visit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        constraints = [models.UniqueConstraint(fields=["session", "rule"], name="actionexecution_once_per_session_and_rule")]
        indexes = [models.Index(fields=["status", "run_after"], name="actionexecution_due")]

    def __str__(self) -> str:
        return f"{self.action} for session {self.session_id} ({self.status})"


class DiscountCode(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="discount_codes")
    execution = models.OneToOneField(ActionExecution, on_delete=models.CASCADE, related_name="discount_code")
    code = models.CharField(max_length=32, unique=True)
    amount = models.CharField(max_length=32, help_text='e.g. "10%" or "5.00 EUR"')
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    order_ref = models.CharField(max_length=128, blank=True, help_text="The tenant's order the code was redeemed for.")

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"

    def __str__(self) -> str:
        return self.code


class UxAlert(models.Model):
    """A field whose validation-error abandonment rate crossed the tenant's threshold."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="ux_alerts")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="ux_alerts")
    rule = models.ForeignKey(RecoveryRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="ux_alerts")
    field = models.CharField(max_length=64)
    reason = models.CharField(max_length=64, blank=True, help_text="The most frequent validation reason.")
    sessions = models.PositiveIntegerField()
    validation_abandonments = models.PositiveIntegerField()
    rate = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        constraints = [
            models.UniqueConstraint(
                fields=["site", "field"], condition=models.Q(resolved_at__isnull=True), name="uxalert_one_open_per_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.field} on {self.site}: {self.rate:.0%}"


class ReviewItem(models.Model):
    """A session waiting for an operator's verdict (the verdict itself is a classifier.SessionLabel)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="review_items")
    session = models.OneToOneField(FormSession, on_delete=models.CASCADE, related_name="review_item")
    prediction = models.ForeignKey(Prediction, null=True, on_delete=models.SET_NULL)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"

    def __str__(self) -> str:
        return f"review of session {self.session_id}"
