"""Tenants and their credentials, sites, and the form sessions the snippet records."""

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .tenancy import TenantManager


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)")


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Dashboards count days in this IANA time zone (e.g. Europe/Paris).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        ANALYST = "analyst", "Analyst (read-only)"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANALYST)
    created_at = models.DateTimeField(auto_now_add=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user_per_tenant")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


def default_abandonment_timeout() -> int:
    return 30 * 60


def default_outreach_delay() -> int:
    # Abandoned-cart tools wait 30 min to 1 h: most visitors who come back do so within minutes
    # (another tab, a phone call), and outreach after 30 min still finds them while they remember the form.
    return 30 * 60


def default_attribution_window() -> int:
    return 7 * 24 * 3600


class Site(models.Model):
    # classifier.backends.SITE_BACKENDS and cascade.ESCALATION_BACKENDS (a test keeps them the same)
    class Backend(models.TextChoices):
        EMBEDDED = "embedded", "Embedded (CPU, in-process)"
        PEFT = "peft", "LoRA adapter, in-process (PEFT)"
        VLLM = "vllm", "LoRA adapter on vLLM (Modal)"
        CLOUDFLARE = "cloudflare", "LoRA adapter on Cloudflare Workers AI"
        CASCADE = "cascade", "Cascade: embedded first, the escalation backend when unsure"

    class Escalation(models.TextChoices):
        VLLM = "vllm", "vLLM (Modal)"
        CLOUDFLARE = "cloudflare", "Cloudflare Workers AI"
        PEFT = "peft", "PEFT, in-process"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)
    # Exact origins ("https://shop.example.com"); the ingest endpoint and CORS accept only these.
    allowed_origins = models.JSONField(default=list, blank=True)
    site_key = models.CharField(max_length=64, unique=True, editable=False)
    abandonment_timeout_seconds = models.PositiveIntegerField(
        default=default_abandonment_timeout,
        # Under a minute the sweep would abandon visitors who are still typing.
        validators=[MinValueValidator(60)],
        help_text="A session with no events for this long (idle, or its tab hidden) is abandoned for good.",
    )
    outreach_delay_seconds = models.PositiveIntegerField(
        default=default_outreach_delay,
        help_text="After the page is gone, wait this long for the visitor to come back before the session is "
        "abandoned for good and recovery acts (0: at once).",
    )
    attribution_window_seconds = models.PositiveIntegerField(
        default=default_attribution_window,
        validators=[MinValueValidator(3600)],
        help_text="A submit by the same visitor within this long after an abandonment counts as its recovery.",
    )
    is_active = models.BooleanField(default=True)
    classifier_backend = models.CharField(
        max_length=32,
        choices=Backend.choices,
        default=Backend.EMBEDDED,
        help_text="Which backend classifies this site's abandoned sessions.",
    )
    escalation_backend = models.CharField(
        max_length=32,
        choices=Escalation.choices,
        default=Escalation.VLLM,
        help_text="Cascade only: the LLM backend asked when the embedded model is unsure.",
    )
    escalation_threshold = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Cascade only: a session whose embedded confidence is below this goes to the escalation backend "
        "(0: never, 1: always).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Write"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    # The first characters of the secret, shown so operators can tell keys apart.
    prefix = models.CharField(max_length=16, editable=False)
    # SHA-256 of the secret: the secret itself is shown once and never stored.
    hashed_secret = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class FormSession(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        # The page is gone (exit); abandoned for good once the site's outreach delay passes without a return.
        EXITED = "exited", "Left (waiting for a return)"
        # Left, and the visitor came back in another session within the outreach delay: never abandoned for good.
        RETURNED = "returned", "Left, then came back"
        SUBMITTED = "submitted", "Submitted"
        ABANDONED = "abandoned", "Abandoned"

    # Denormalised from site so that every tenant query is one indexed filter.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="form_sessions")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="form_sessions")
    session_uuid = models.UUIDField(default=uuid.uuid4)
    form_id = models.CharField(max_length=128)
    path = models.CharField(max_length=2048)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    visitor_ref = models.CharField(
        max_length=256, blank=True, help_text="Set only when the site called formrecap.identify() or the API."
    )
    anonymous_id = models.CharField(
        max_length=64, blank=True, help_text="The snippet's random first-party id of this browser (per site key)."
    )
    started_at = models.DateTimeField()
    last_event_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True, help_text="When the page was last seen going away.")
    hidden_at = models.DateTimeField(null=True, blank=True, help_text="Set while the tab is hidden.")
    abandoned_at = models.DateTimeField(null=True, blank=True, help_text="When the session was abandoned for good.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(
        null=True, blank=True, help_text="The visitor came back after this session was left (this page or a later one)."
    )
    recovered_at = models.DateTimeField(
        null=True, blank=True, help_text="The visitor submitted after this abandonment (within the attribution window)."
    )
    planned_at = models.DateTimeField(null=True, blank=True, help_text="When recovery decided what to do about it.")
    batch_count = models.PositiveIntegerField(default=0)
    event_count = models.PositiveIntegerField(default=0)
    classification_error = models.TextField(blank=True, help_text="Why the session could not be classified, if it failed.")
    # The newest reading, copied from its Prediction so that dashboards count reasons with one GROUP BY on this table.
    reason_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Class of the newest reading (1-6).")
    reason_confidence = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    all_tenants = models.Manager()
    objects = TenantManager()

    class Meta:
        default_manager_name = "all_tenants"
        constraints = [models.UniqueConstraint(fields=["site", "session_uuid"], name="formsession_unique_uuid_per_site")]
        indexes = [
            # Dashboards: one tenant's sessions in a date range, optionally one site and form.
            models.Index(fields=["tenant", "site", "form_id", "started_at"], name="formsession_tenant_form_day"),
            models.Index(fields=["status", "last_event_at"], name="formsession_sweep"),
            models.Index(fields=["tenant", "-started_at"], name="formsession_tenant_recent"),
            models.Index(fields=["site", "anonymous_id"], name="formsession_site_anonymous"),
            models.Index(fields=["site", "visitor_ref"], name="formsession_site_visitor"),
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.session_uuid} ({self.status})"


class TraceChunk(models.Model):
    """One batch of raw snippet events, stored once per (session, seq)."""

    session = models.ForeignKey(FormSession, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    events = models.JSONField()
    event_count = models.PositiveIntegerField()
    # A hash of the batch's content: a retry (same seq, same content) is a duplicate, a reused seq with other
    # content is refused. Empty for chunks stored before it existed.
    fingerprint = models.CharField(max_length=32, blank=True, default="")
    received_at = models.DateTimeField(auto_now_add=True)

    all_tenants = models.Manager()
    objects = TenantManager(tenant_path="session__tenant")

    class Meta:
        default_manager_name = "all_tenants"
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["session", "seq"], name="tracechunk_unique_seq_per_session")]

    def __str__(self) -> str:
        return f"chunk {self.seq} of {self.session_id}"
