"""The periodic catch-up classifies abandoned sessions whose classification was lost."""

from django.utils import timezone

from classifier.models import Prediction
from classifier.tasks import classify_unclassified_task
from tests.factories import FormSessionFactory, TraceChunkFactory

EVENTS = [
    {"type": "focus", "field": "email", "ts": 0},
    {"type": "input", "field": "email", "ts": 150},
    {"type": "exit", "ts": 900},
]


def abandoned_session(site):
    session = FormSessionFactory(site=site, status="abandoned", abandoned_at=timezone.now(), event_count=len(EVENTS))
    TraceChunkFactory(session=session, seq=0, events=EVENTS)
    return session


def test_unclassified_abandoned_sessions_get_a_prediction(active_embedded_model, site, other_site):
    mine, theirs = abandoned_session(site), abandoned_session(other_site)
    FormSessionFactory(site=site)  # in progress: not classified
    assert classify_unclassified_task.apply().get() == 2
    assert {p.session_id: p.tenant_id for p in Prediction.all_tenants.all()} == {
        mine.pk: site.tenant_id,
        theirs.pk: other_site.tenant_id,
    }
    assert classify_unclassified_task.apply().get() == 0  # nothing left
