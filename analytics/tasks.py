"""Celery tasks of analytics (thin wrappers: ids in, one service call)."""

from celery import shared_task

from formrecap.models import Tenant
from formrecap.task_retries import RIDES_OUT_DATABASE_RESTARTS

from .services import session_fields_summarise


@shared_task(name="analytics.summarise_session", **RIDES_OUT_DATABASE_RESTARTS)
def summarise_session_task(tenant_id: int, session_id: int) -> int:
    """Write one ended session's field figures; idempotent (the rows are replaced whole)."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    return session_fields_summarise(tenant=tenant, session_id=session_id) if tenant else 0
