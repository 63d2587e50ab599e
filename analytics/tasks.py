"""Celery tasks of analytics (thin wrappers: ids in, one service call)."""

from celery import shared_task

from formrecap.models import Tenant

from .services import session_fields_summarise


@shared_task(name="analytics.summarise_session", acks_late=True, reject_on_worker_lost=True)
def summarise_session_task(tenant_id: int, session_id: int) -> int:
    """Write one ended session's field figures; idempotent (the rows are replaced whole)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    return session_fields_summarise(tenant=tenant, session_id=session_id) if tenant else 0
