"""Celery tasks of the core app (thin wrappers around services)."""

from celery import shared_task

from .ingest.services import sweep_inactive_sessions


@shared_task(name="formrecap.sweep_inactive_sessions", acks_late=True, reject_on_worker_lost=True)
def sweep_inactive_sessions_task() -> int:
    """Periodic (beat): abandon in-progress sessions idle past their site's timeout. Safe to run concurrently."""
    return sweep_inactive_sessions()
