"""The events operators are told about: each one's tenant, words, link and dedupe key, in one place.

Called where the event happens, once it has happened (a row created, a conditional UPDATE that matched), inside
that transaction when there is one: the notification then commits, or rolls back, with the event.
"""

from django.db import models
from django.urls import NoReverseMatch, reverse

from .models import Notification
from .services import notify

Kind = Notification.Kind
ERROR_TAIL = 2000  # characters of a failed run's error (a traceback) kept in the body


def admin_path(obj: models.Model) -> str:
    """The admin change page of ``obj``, or "" when its model has none."""
    opts = obj._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def ux_alert_opened(alert) -> Notification:
    """A UX alert (recovery.models.UxAlert) was opened: one field causes too many of a site's abandonments."""
    reason = f" (most often {alert.reason})" if alert.reason else ""
    return notify(
        tenant=alert.tenant,
        kind=Kind.UX_ALERT_OPENED,
        title=f"UX alert: the field {alert.field} on {alert.site}",
        body=(
            f"{alert.validation_abandonments} of the {alert.sessions} recently abandoned sessions of {alert.site} "
            f"({alert.rate:.0%}) were validation errors on the field {alert.field}{reason}. "
            "The alert stays open, its figures kept current, until it is resolved in admin."
        ),
        link=admin_path(alert),
        dedupe_key=f"ux_alert_opened:{alert.pk}",
    )


def webhook_disabled(rule, *, failures: int) -> Notification:
    """A recovery rule's webhook endpoint was disabled after ``failures`` failed deliveries in a row."""
    url = (rule.params or {}).get("url", "")
    return notify(
        tenant=rule.tenant,
        kind=Kind.WEBHOOK_DISABLED,
        title=f"Webhook endpoint disabled: rule {rule}",
        body=(
            f"The rule {rule} stopped calling {url or 'its webhook URL'} after {failures} failed deliveries in a row "
            f"(disabled at {rule.disabled_at:%Y-%m-%d %H:%M:%S %Z}). Its actions are skipped until the endpoint "
            "works again and the rule is given a new URL."
        ),
        link=admin_path(rule),
        # A rule re-enabled (a new URL) and disabled again later is a new event.
        dedupe_key=f"webhook_disabled:{rule.pk}:{rule.disabled_at.isoformat()}",
    )


def training_failed(run) -> Notification:
    """A training run (training.models.TrainingRun) ended failed. Runs belong to no tenant: superusers are told."""
    error = run.error.strip()
    last_line = error.splitlines()[-1] if error else "no cause recorded"
    detail = f"\n\n{error[-ERROR_TAIL:]}" if error and error != last_line else ""
    return notify(
        tenant=None,
        kind=Kind.TRAINING_FAILED,
        title=f"Training run {run.pk} failed: {last_line}",
        body=(
            f"Training run {run.pk} ({run.runner} runner, {run.profile} profile, base {run.base_model}, "
            f"dataset {run.dataset}, started by {run.triggered_by or 'unknown'}) failed: {last_line}{detail}"
        ),
        link=admin_path(run),
        dedupe_key=f"training_failed:{run.pk}",
    )


def candidate_held_back(run, model_version) -> Notification:
    """The candidate a training run produced was not promoted: the gate refused it (its reason says which figures)."""
    return notify(
        tenant=None,
        kind=Kind.CANDIDATE_HELD_BACK,
        title=f"Candidate {model_version.label} held back by the promotion gate",
        body=(
            f"Training run {run.pk} produced {model_version.label}, which stays a candidate; the live model is "
            f"unchanged. The gate said: {model_version.status_reason}"
        ),
        link=admin_path(model_version),
        dedupe_key=f"candidate_held_back:{model_version.pk}",
    )
