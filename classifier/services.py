"""Classifying traces and sessions, and storing predictions."""

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from formrecap.models import FormSession, Tenant

from .backends import Backend, Classification, backend_for_site, get_backend
from .custom_reasons.reading import custom_reading
from .models import Prediction
from .selectors import session_trace
from .trace import Trace

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
        "routing": classification.routing,
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


def _is_final(session: FormSession) -> bool:
    return session.status == FormSession.Status.ABANDONED


def _can_be_read(session: FormSession) -> bool:
    """Abandoned for good (final), or gone or hidden for now (provisional)."""
    Status = FormSession.Status
    return session.status in (Status.ABANDONED, Status.EXITED) or (
        session.status == Status.IN_PROGRESS and session.hidden_at is not None
    )


def prediction_for_session(*, tenant: Tenant, session_id: int) -> Prediction | None:
    """Classify a session that was left: one prediction per model version, re-read when the session has grown
    since, or when a provisional reading (page just gone, tab hidden) becomes final (abandoned for good).
    Safe to call again (redelivery): returns the stored row. A final prediction is handed to recovery's
    planner (its own task, after commit).

    Returns None when there is nothing to classify (session active or submitted, or with no events).
    """
    session = FormSession.objects.for_tenant(tenant).select_related("site").filter(pk=session_id).first()
    if session is None or not _can_be_read(session) or not session.event_count:
        return None
    final = _is_final(session)
    backend = backend_for_site(session.site)
    model_version_id = getattr(getattr(backend, "model_version", None), "pk", None)
    existing = Prediction.objects.for_tenant(tenant).filter(session=session, model_version_id=model_version_id).first()
    if existing is not None and existing.events_seen >= session.event_count and existing.final == final:
        return _planned_on_commit(tenant, existing)  # a redelivery also replans a plan that was lost
    trace = session_trace(session=session)
    result = _timed_classify(backend, [trace])
    fields = _prediction_fields(result.classifications[0], backend=result.backend, latency_ms=result.latency_ms)
    fields.update(events_seen=session.event_count, final=final)
    custom = custom_reading(tenant=tenant, trace=trace, code=fields["code"], backend=backend)
    fields.update(custom_reason_id=custom.reason_id, custom_reason_score=custom.score)
    if custom.error:
        fields["routing"] = {**fields["routing"], "custom_reason_error": custom.error}
    # A provisional reading can finish after the final one that a sweep started meanwhile: it must never
    # overwrite it (the planner reads `final`), so provisional writes only touch what is still provisional.
    sessions = FormSession.objects.for_tenant(tenant).filter(pk=session.pk)
    if not final:
        sessions = sessions.exclude(status=FormSession.Status.ABANDONED)
    # The session carries its newest reading (dashboards group on it), and a new reading clears an old failure.
    sessions.update(classification_error="", reason_code=fields["code"], reason_confidence=fields["confidence"])
    if existing is not None:
        rows = Prediction.objects.for_tenant(tenant).filter(pk=existing.pk)
        (rows if final else rows.filter(final=False)).update(**fields)
        existing.refresh_from_db()
        return _planned_on_commit(tenant, existing)
    try:
        with transaction.atomic():
            prediction = Prediction.objects.create(tenant=tenant, session=session, source=Prediction.Source.SESSION, **fields)
    except IntegrityError:
        # Another reading raced us to it (a redelivery, or the provisional one): the unique (session, model
        # version) keeps one row, and a final reading still makes it final.
        rows = Prediction.objects.for_tenant(tenant).filter(session=session, model_version_id=fields["model_version_id"])
        if final:
            rows.filter(final=False).update(**fields)
        prediction = rows.get()
    return _planned_on_commit(tenant, prediction)


def _planned_on_commit(tenant: Tenant, prediction: Prediction) -> Prediction:
    """A final prediction goes to recovery's planner (a task of its own, once committed); a provisional one waits."""
    if prediction.final:
        from recovery.tasks import plan_session_task

        session_id = prediction.session_id
        # robust: a broker hiccup is logged; the planner's periodic catch-up finds the session.
        transaction.on_commit(lambda: plan_session_task.delay(tenant.pk, session_id), robust=True)
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


def sessions_left_provisionally(*, sessions: Sequence[tuple[int, int]]) -> None:
    """Sessions left for now (page gone within the outreach delay, tab hidden): a provisional reading after commit.

    The same task as a final abandonment: prediction_for_session tells them apart by the session's status.
    """
    sessions_abandoned(sessions=sessions)
