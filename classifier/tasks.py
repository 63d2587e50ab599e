"""Celery tasks of the classifier (thin wrappers: ids in, one service call)."""

import logging

from celery import shared_task

from formrecap.models import Tenant
from formrecap.task_retries import RIDES_OUT_DATABASE_RESTARTS

from .backends import BackendUnavailable
from .selectors import sessions_unclassified
from .services import prediction_for_session, session_classification_failed
from .trace import TraceError

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="classifier.classify_session", **RIDES_OUT_DATABASE_RESTARTS)
def classify_session_task(self, tenant_id: int, session_id: int) -> int | None:
    """Classify one abandoned session; returns the prediction id. Idempotent under redelivery."""
    tenant = Tenant.objects.get(pk=tenant_id)
    try:
        prediction = prediction_for_session(tenant=tenant, session_id=session_id)
    except TraceError as exc:
        # The stored events cannot make a trace: no retry will change that.
        session_classification_failed(tenant=tenant, session_id=session_id, error=f"invalid trace: {exc}")
        return None
    except BackendUnavailable as exc:
        if self.request.is_eager:
            logger.warning("session %s not classified: %s", session_id, exc)
            return None
        if self.request.retries >= self.max_retries:
            session_classification_failed(tenant=tenant, session_id=session_id, error=f"backend unavailable: {exc}")
            return None
        # Transient (model being trained, remote backend down): back off, bounded.
        raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc
    return prediction.pk if prediction else None


@shared_task(name="classifier.classify_unclassified", acks_late=True, reject_on_worker_lost=True)
def classify_unclassified_task() -> int:
    """Periodic (beat): re-enqueue abandoned sessions that have no prediction. Returns how many."""
    pending = sessions_unclassified()
    for tenant_id, session_id in pending:
        classify_session_task.delay(tenant_id, session_id)
    return len(pending)
