"""A session that grows after its exit is re-read; failures are recorded; the sweep works in chunks."""

from datetime import timedelta

from django.utils import timezone

from classifier.models import Prediction
from classifier.services import prediction_for_session
from classifier.tasks import classify_session_task, classify_unclassified_task
from formrecap.ingest import services as ingest_services
from formrecap.models import FormSession
from tests.factories import FormSessionFactory, TraceChunkFactory

FIRST = [
    {"type": "focus", "field": "email", "ts": 0},
    {"type": "input", "field": "email", "ts": 150},
    {"type": "exit", "ts": 900},
]
LATER = [
    {"type": "focus", "field": "email", "ts": 60_000},
    *({"type": "input", "field": "email", "ts": 60_200 + 150 * i} for i in range(6)),
    {"type": "blur", "field": "email", "ts": 62_000, "validation": "invalid_format"},
    {"type": "exit", "ts": 63_000},
]


def test_a_session_that_grew_after_its_exit_is_reclassified_in_place(active_embedded_model, site):
    session = FormSessionFactory(site=site, status="abandoned", abandoned_at=timezone.now(), event_count=len(FIRST))
    TraceChunkFactory(session=session, seq=0, events=FIRST)
    first = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    assert first.events_seen == len(FIRST)

    TraceChunkFactory(session=session, seq=1, events=LATER)
    FormSession.all_tenants.filter(pk=session.pk).update(event_count=len(FIRST) + len(LATER))
    second = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    assert second.pk == first.pk and second.events_seen == len(FIRST) + len(LATER)
    assert Prediction.all_tenants.filter(session=session).count() == 1
    # Nothing new: a redelivered task changes nothing.
    assert prediction_for_session(tenant=site.tenant, session_id=session.pk).updated_at == second.updated_at


def test_an_unreadable_session_is_recorded_and_left_out_of_the_catch_up(active_embedded_model, site):
    session = FormSessionFactory(site=site, status="abandoned", abandoned_at=timezone.now(), event_count=2)
    # A chunk today's ingest would refuse (as if stored by an older version): no retry can classify it.
    TraceChunkFactory(session=session, seq=0, events=[{"type": "keydown", "field": "email", "ts": 0}, {"type": "exit", "ts": 5}])
    assert classify_session_task.apply(args=(site.tenant_id, session.pk)).get() is None
    session.refresh_from_db()
    assert session.classification_error.startswith("invalid trace:")
    assert classify_unclassified_task.apply().get() == 0


def test_the_sweep_works_in_chunks(site, monkeypatch):
    monkeypatch.setattr(ingest_services, "SWEEP_CHUNK", 2)
    for _ in range(5):
        FormSessionFactory(site=site, last_event_at=timezone.now() - timedelta(hours=2))
    assert ingest_services.sweep_inactive_sessions() == 5
    assert FormSession.all_tenants.filter(status="abandoned").count() == 5
