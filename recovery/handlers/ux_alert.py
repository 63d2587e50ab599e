"""``ux_alert``: open (or refresh) an alert when one field causes too large a share of a site's abandonments.

A session's failing field is the field whose blur events carried a validation reason most often. Over the
last ``params.window_days`` (default 7): rate = the site's abandoned sessions classified validation_error whose
failing field is F / all the site's abandoned sessions. With at least the tenant's ``ux_alert_min_sessions``
sessions and a rate at or above its ``ux_alert_threshold``, the site's open alert for F is opened or updated
(one open alert per site and field). The execution that opens an alert also POSTs it to ``params.url``, if set.
"""

from collections import Counter
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from classifier.labels import CODES
from classifier.models import Prediction
from formrecap.models import FormSession, TraceChunk
from notifications import events as notification_events

from ..models import ActionExecution, UxAlert
from ..selectors import recovery_settings_get
from .base import FAILED, SKIPPED, SUCCEEDED, HandlerResult, execution_note, rule_params, skipped
from .webhook import event_payload, webhook_send

EVENT_UX_ALERT = "ux_alert.opened"
VALIDATION_ERROR = CODES["validation_error"]
DEFAULT_WINDOW_DAYS = 7
MAX_SESSIONS_READ = 5000  # newest first: enough to measure a rate, bounded for very busy sites


def failing_field(events: list[dict]) -> tuple[str, str] | None:
    """(field, its most frequent reason) for the field that failed validation most often, or None."""
    failures: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    for event in events:
        if event.get("type") == "blur" and event.get("validation") and event.get("field"):
            failures[event["field"]] += 1
            reasons.setdefault(event["field"], Counter())[event["validation"]] += 1
    if not failures:
        return None
    field = failures.most_common(1)[0][0]
    return field, reasons[field].most_common(1)[0][0]


def _events_by_session(session_ids: list[int]) -> dict[int, list[dict]]:
    events: dict[int, list[dict]] = {}
    chunks = TraceChunk.all_tenants.filter(session_id__in=session_ids).order_by("session_id", "seq")
    for session_id, chunk_events in chunks.values_list("session_id", "events").iterator():
        events.setdefault(session_id, []).extend(chunk_events)
    return events


def field_abandonment_figures(*, session: FormSession, field: str, window_days: int) -> dict:
    """Abandoned sessions of ``session``'s site in the window, and those that were validation errors on ``field``."""
    tenant = session.tenant
    abandoned = FormSession.objects.for_tenant(tenant).filter(
        site_id=session.site_id,
        status=FormSession.Status.ABANDONED,
        abandoned_at__gte=timezone.now() - timedelta(days=window_days),
    )
    latest_code = Subquery(
        Prediction.objects.for_tenant(tenant).filter(session=OuterRef("pk")).order_by("-created_at", "-id").values("code")[:1]
    )
    validation_ids = list(
        abandoned.annotate(latest_code=latest_code)
        .filter(latest_code=VALIDATION_ERROR)
        .order_by("-abandoned_at")
        .values_list("pk", flat=True)[:MAX_SESSIONS_READ]
    )
    on_field = Counter()
    for events in _events_by_session(validation_ids).values():
        failing = failing_field(events)
        if failing and failing[0] == field:
            on_field[failing[1]] += 1
    sessions = abandoned.count()
    count = sum(on_field.values())
    return {
        "sessions": sessions,
        "validation_abandonments": count,
        "rate": round(count / sessions, 4) if sessions else 0.0,
        "reason": on_field.most_common(1)[0][0] if on_field else "",
    }


def ux_alert_open_or_update(*, execution: ActionExecution, field: str, figures: dict) -> tuple[UxAlert, bool]:
    """The site's open alert for ``field`` with the new figures; True when this call opened it."""
    tenant, site = execution.tenant, execution.session.site
    with transaction.atomic():
        alert = (
            UxAlert.objects.for_tenant(tenant)
            .select_for_update()
            .filter(site=site, field=field, resolved_at__isnull=True)
            .first()
        )
        if alert is None:
            try:
                with transaction.atomic():
                    alert = UxAlert.objects.create(tenant=tenant, site=site, rule=execution.rule, field=field, **figures)
            except IntegrityError:
                # Opened meanwhile by another execution: the partial unique constraint keeps one open alert.
                alert = UxAlert.objects.for_tenant(tenant).get(site=site, field=field, resolved_at__isnull=True)
            else:
                # In the transaction that opens it: the operators' notification commits (or rolls back) with the alert.
                notification_events.ux_alert_opened(alert)
                return alert, True
        for name, value in figures.items():
            setattr(alert, name, value)
        alert.save(update_fields=[*figures, "updated_at"])
    return alert, False


def _open_alert(execution: ActionExecution, field: str) -> UxAlert | None:
    alerts = UxAlert.objects.for_tenant(execution.tenant)
    return alerts.filter(site_id=execution.session.site_id, field=field, resolved_at__isnull=True).first()


def handle_ux_alert(execution: ActionExecution) -> HandlerResult:
    params = rule_params(execution)
    window_days = params.get("window_days", DEFAULT_WINDOW_DAYS)
    if not isinstance(window_days, int) or isinstance(window_days, bool) or not 1 <= window_days <= 90:
        return HandlerResult(FAILED, {"error": "params.window_days must be a whole number of days from 1 to 90"})
    failing = failing_field([e for chunk in execution.session.chunks.order_by("seq") for e in chunk.events])
    if failing is None:
        return skipped("no field failed validation in this session")
    field = failing[0]
    figures = field_abandonment_figures(session=execution.session, field=field, window_days=window_days)
    settings = recovery_settings_get(tenant=execution.tenant)
    detail = {
        "field": field,
        "validation_reason": figures["reason"],
        **{name: figures[name] for name in ("sessions", "validation_abandonments", "rate")},
        "threshold": settings.ux_alert_threshold,
        "min_sessions": settings.ux_alert_min_sessions,
    }
    crossed = figures["sessions"] >= settings.ux_alert_min_sessions and figures["rate"] >= settings.ux_alert_threshold
    if not crossed and _open_alert(execution, field) is None:
        return skipped("below the alert threshold or the minimum number of sessions", **detail)
    # Crossed, or an alert is open already: its figures are kept current (operators resolve alerts, not the rate).
    alert, opened = ux_alert_open_or_update(execution=execution, field=field, figures=figures)
    if opened:
        # Remembered on the execution, so a retry of it still sends the alert it opened.
        execution_note(execution, ux_alert_opened=alert.pk)
    detail |= {"alert": alert.pk, "opened": opened}
    opened_by_this_execution = execution.detail.get("delivery", {}).get("ux_alert_opened") == alert.pk
    if not params.get("url") or not opened_by_this_execution:
        return HandlerResult(
            SUCCEEDED if crossed else SKIPPED, detail if crossed else {**detail, "reason": "below the alert threshold"}
        )
    payload = event_payload(
        type=EVENT_UX_ALERT,
        timestamp=alert.created_at,  # when it opened: the same for every attempt
        data={
            "alert": {"id": alert.pk, "site": alert.site_id, "field": field, **figures},
            "idempotency_key": execution.idempotency_key,
            "rule": execution.rule_id,
        },
    )
    sent = webhook_send(execution, payload)
    if sent.status == FAILED:
        return HandlerResult(FAILED, {**detail, **sent.detail}, sent.retryable, sent.endpoint_delivered)
    return HandlerResult(SUCCEEDED, {**detail, "webhook": sent.detail}, endpoint_delivered=sent.endpoint_delivered)
