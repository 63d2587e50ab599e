"""The inactivity sweep: in-progress sessions idle past their site's timeout become abandoned."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from formrecap.ingest.services import sweep_inactive_sessions
from formrecap.models import FormSession
from formrecap.tasks import sweep_inactive_sessions_task
from tests.factories import FormSessionFactory, SiteFactory


def ago(minutes: float):
    return timezone.now() - timedelta(minutes=minutes)


def status_of(session) -> str:
    session.refresh_from_db()
    return session.status


def test_idle_past_timeout_is_abandoned_others_untouched(site):
    stale = FormSessionFactory(site=site, last_event_at=ago(31))
    fresh = FormSessionFactory(site=site, last_event_at=ago(29))
    submitted = FormSessionFactory(site=site, last_event_at=ago(120), status="submitted")
    assert sweep_inactive_sessions() == 1
    assert (status_of(stale), status_of(fresh), status_of(submitted)) == ("abandoned", "in_progress", "submitted")
    stale.refresh_from_db()
    assert stale.abandoned_at is not None


def test_each_site_uses_its_own_timeout(tenant):
    quick = SiteFactory(tenant=tenant, abandonment_timeout_seconds=60)
    slow = SiteFactory(tenant=tenant, abandonment_timeout_seconds=3600)
    on_quick = FormSessionFactory(site=quick, last_event_at=ago(5))
    on_slow = FormSessionFactory(site=slow, last_event_at=ago(5))
    assert sweep_inactive_sessions() == 1
    assert (status_of(on_quick), status_of(on_slow)) == ("abandoned", "in_progress")


def test_sweep_is_idempotent(site):
    FormSessionFactory(site=site, last_event_at=ago(60))
    assert sweep_inactive_sessions() == 1
    assert sweep_inactive_sessions() == 0
    assert FormSession.all_tenants.filter(status="abandoned").count() == 1


def test_task_and_command_run_the_sweep(site):
    FormSessionFactory(site=site, last_event_at=ago(60))
    assert sweep_inactive_sessions_task.apply().get() == 1
    FormSessionFactory(site=site, last_event_at=ago(60))
    call_command("sweep_sessions")
    assert FormSession.all_tenants.filter(status="in_progress").count() == 0


def test_sweep_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-inactive-sessions"]
    assert entry["task"] == sweep_inactive_sessions_task.name
