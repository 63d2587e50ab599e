"""Classifying traces and sessions, and storing predictions."""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from formrecap.models import FormSession, Tenant
from formrecap.selectors import form_session_events

from .backends import Backend, Classification, get_backend
from .models import Prediction
from .trace import MAX_TOKENS, Trace, normalise_events

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimedClassifications:
    classifications: list[Classification]
    backend: str
    latency_ms: float  # for the whole batch


def classify_traces(*, traces: Sequence[Trace], backend_name: str, model_version_id: int | None = None) -> TimedClassifications:
    return _timed_classify(get_backend(backend_name, model_version_id=model_version_id), traces)


def _timed_classify(backend: Backend, traces: Sequence[Trace]) -> TimedClassifications:
    started = time.perf_counter()
    classifications = backend.classify(traces)
    return TimedClassifications(classifications, backend.name, (time.perf_counter() - started) * 1000)


def _prediction_fields(classification: Classification, *, backend: str, latency_ms: float) -> dict:
    return {
        "model_version_id": classification.model_version_id,
        "backend": backend,
        "code": classification.code,
        "probabilities": classification.probabilities_by_code(),
        "confidence": classification.confidence,
        "calibrated": classification.calibrated,
        "explanation": classification.explanation.as_dict(),
        "latency_ms": round(latency_ms, 3),
    }


def predictions_create_for_request(*, tenant: Tenant, result: TimedClassifications) -> list[Prediction]:
    """Record API classifications (one row each) so usage and quality can be audited per tenant."""
    per_trace = result.latency_ms / max(1, len(result.classifications))
    rows = [
        Prediction(
            tenant=tenant, source=Prediction.Source.API, **_prediction_fields(c, backend=result.backend, latency_ms=per_trace)
        )
        for c in result.classifications
    ]
    return Prediction.objects.for_tenant(tenant).bulk_create(rows) if rows else []


def session_trace(*, session: FormSession) -> Trace:
    """The session's events as a trace; a very long session keeps its last tokens (where it ended)."""
    # Ingest checks each batch on its own, so a clock may step back between batches (a page reload):
    # keep batch order and hold such timestamps at the last one, rather than refuse the whole session.
    events, latest = [], 0
    for event in form_session_events(session=session):
        latest = max(latest, event["ts"])
        events.append({**event, "ts": latest})
    return normalise_events(events, max_tokens=MAX_TOKENS, keep_tail=True)


def prediction_for_session(*, tenant: Tenant, session_id: int) -> Prediction | None:
    """Classify an abandoned session: one prediction per model version, re-read only when the session has grown
    since (a visitor who came back and left again). Safe to call again (redelivery): returns the stored row.

    Returns None when there is nothing to classify (session not abandoned, or has no events).
    """
    session = FormSession.objects.for_tenant(tenant).select_related("site").filter(pk=session_id).first()
    if session is None or session.status != FormSession.Status.ABANDONED:
        return None
    if not session.event_count:
        return None
    backend = get_backend(session.site.classifier_backend)
    model_version_id = getattr(getattr(backend, "model_version", None), "pk", None)
    existing = Prediction.objects.for_tenant(tenant).filter(session=session, model_version_id=model_version_id).first()
    if existing is not None and existing.events_seen >= session.event_count:
        return _recovery_planned_on_commit(tenant, existing)  # a redelivery also replans a plan that was lost
    result = _timed_classify(backend, [session_trace(session=session)])
    fields = _prediction_fields(result.classifications[0], backend=result.backend, latency_ms=result.latency_ms)
    fields["events_seen"] = session.event_count
    if session.classification_error:
        FormSession.objects.for_tenant(tenant).filter(pk=session.pk).update(classification_error="")
    if existing is not None:
        Prediction.objects.for_tenant(tenant).filter(pk=existing.pk, events_seen__lt=session.event_count).update(**fields)
        existing.refresh_from_db()
        return _recovery_planned_on_commit(tenant, existing)
    try:
        with transaction.atomic():
            prediction = Prediction.objects.create(tenant=tenant, session=session, source=Prediction.Source.SESSION, **fields)
    except IntegrityError:
        # A redelivered task raced us to it: the unique (session, model version) keeps one.
        prediction = Prediction.objects.for_tenant(tenant).get(session=session, model_version_id=fields["model_version_id"])
    return _recovery_planned_on_commit(tenant, prediction)


def _recovery_planned_on_commit(tenant: Tenant, prediction: Prediction) -> Prediction:
    """Hand the stored prediction to the tenant's recovery policy once it is committed (the plan is once per session)."""
    from recovery.services import recovery_plan_for_prediction

    # robust: a failed plan is logged and never undoes the stored prediction.
    transaction.on_commit(lambda: recovery_plan_for_prediction(tenant=tenant, prediction_id=prediction.pk), robust=True)
    return prediction


def session_classification_failed(*, tenant: Tenant, session_id: int, error: str) -> None:
    """Record why a session cannot be classified; the catch-up task then leaves it alone."""
    FormSession.objects.for_tenant(tenant).filter(pk=session_id).update(classification_error=error[:2000])


def sessions_abandoned(*, sessions: Sequence[tuple[int, int]]) -> None:
    """Called inside the transaction that abandoned (tenant id, session id) pairs: classify each after commit."""
    from .tasks import classify_session_task

    for tenant_id, session_id in sessions:
        # robust: a broker hiccup after commit is logged, never turned into an error for the caller;
        # the periodic catch-up task classifies whatever was missed.
        transaction.on_commit(lambda t=tenant_id, s=session_id: classify_session_task.delay(t, s), robust=True)


CATCH_UP_DAYS = 7


def sessions_unclassified(*, limit: int = 500) -> list[tuple[int, int]]:
    """Abandoned sessions of the last week with no prediction yet (a lost task, a backend that was down).

    A system query across tenants, used only by the periodic catch-up task.
    """
    from datetime import timedelta

    from django.utils import timezone

    since = timezone.now() - timedelta(days=CATCH_UP_DAYS)
    return list(
        FormSession.all_tenants.filter(
            status=FormSession.Status.ABANDONED,
            abandoned_at__gte=since,
            event_count__gt=0,
            predictions__isnull=True,
            classification_error="",
        )
        .order_by("abandoned_at")
        .values_list("tenant_id", "pk")[:limit]
    )
