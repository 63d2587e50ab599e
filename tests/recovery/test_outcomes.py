"""Outcomes: a session submitted after its plan (the visitor came back) marks its executions recovered, treated
and held out alike, through the real ingest path; the stats then count it."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from formrecap.ingest.schema import parse_batch
from formrecap.ingest.services import ingest_batch
from formrecap.models import FormSession
from recovery.models import ActionExecution
from recovery.services import executions_mark_recovered
from recovery.stats import recovery_uplift
from tests.conftest import SITE_ORIGIN
from tests.recovery.plans import make_rule, plan, predicted_session, prediction_for

pytestmark = pytest.mark.django_db

EXIT = [
    {"type": "focus", "field": "email", "ts": 10},
    {"type": "input", "field": "email", "ts": 120},
    {"type": "exit", "ts": 900},
]
SUBMIT = [{"type": "focus", "field": "email", "ts": 5000}, {"type": "submit", "ts": 5400}]


@pytest.fixture
def ingest(make_batch):
    """POST a batch to the ingest API as the snippet does; returns the session."""
    client = Client()

    def send(session_uuid: str | None = None, *, seq: int = 0, events: list[dict]) -> FormSession:
        body = make_batch(events=events, seq=seq, **({"session_id": session_uuid} if session_uuid else {}))
        response = client.generic("POST", "/api/v1/ingest/", json.dumps(body), content_type="text/plain", HTTP_ORIGIN=SITE_ORIGIN)
        assert response.status_code == 202, response.content
        return FormSession.all_tenants.get(session_uuid=body["session_id"])

    return send


def planned_session(ingest, rule_code: int = 2) -> tuple[FormSession, ActionExecution]:
    session = ingest(events=EXIT)
    assert session.status == "abandoned"
    (execution,) = plan(prediction_for(session, rule_code, 0.9))
    return session, execution


def test_a_submit_after_the_plan_marks_the_execution_recovered(ingest, site):
    make_rule(site.tenant, action="email")
    session, execution = planned_session(ingest)
    assert execution.status == "scheduled" and execution.recovered_at is None

    before = timezone.now()
    ingest(str(session.session_uuid), seq=1, events=SUBMIT)

    execution.refresh_from_db()
    session.refresh_from_db()
    assert session.status == "submitted"
    assert before <= execution.recovered_at <= timezone.now()
    assert execution.recovered_at == session.submitted_at


def test_held_out_sessions_are_marked_too(ingest, site):
    make_rule(site.tenant, action="email", holdout_share=1.0)
    session, execution = planned_session(ingest)
    assert execution.status == "holdout"
    ingest(str(session.session_uuid), seq=1, events=SUBMIT)
    execution.refresh_from_db()
    assert execution.recovered_at is not None


def test_fallback_executions_are_marked_too(ingest, site):
    session, execution = planned_session(ingest)  # no rule: the review queue
    assert execution.rule is None
    ingest(str(session.session_uuid), seq=1, events=SUBMIT)
    execution.refresh_from_db()
    assert execution.recovered_at is not None


def test_only_the_submitted_sessions_executions_are_marked(ingest, site):
    make_rule(site.tenant, action="email")
    returned, returned_execution = planned_session(ingest)
    _, gone_execution = planned_session(ingest)
    ingest(str(returned.session_uuid), seq=1, events=SUBMIT)
    returned_execution.refresh_from_db()
    gone_execution.refresh_from_db()
    assert returned_execution.recovered_at is not None and gone_execution.recovered_at is None


def test_a_retried_submit_batch_keeps_the_first_recovery_time(ingest, site):
    make_rule(site.tenant, action="email")
    session, execution = planned_session(ingest)
    ingest(str(session.session_uuid), seq=1, events=SUBMIT)
    execution.refresh_from_db()
    first = execution.recovered_at
    # A later batch with another submit (a double click) changes nothing: the session is already submitted.
    ingest(str(session.session_uuid), seq=2, events=[{"type": "submit", "ts": 9000}])
    execution.refresh_from_db()
    assert execution.recovered_at == first


def test_a_session_submitted_in_its_first_batch_has_nothing_to_mark(site):
    batch = parse_batch(
        {
            "site_key": site.site_key,
            "session_id": "8d7f8b1e-6a53-4c8e-9d3c-52f4c4f7a001",
            "seq": 0,
            "form": {"id": "signup", "path": "/signup"},
            "events": [{"type": "focus", "field": "email", "ts": 1}, {"type": "submit", "ts": 50}],
            "sent_at": 100,
        },
        max_events=100,
    )
    result = ingest_batch(site=site, batch=batch)
    assert result.session.status == "submitted"
    assert not ActionExecution.all_tenants.exists()


def test_marking_is_tenant_scoped(site, other_site):
    make_rule(other_site.tenant, action="email")
    (theirs,) = plan(predicted_session(other_site))
    assert executions_mark_recovered(tenant=site.tenant, session_id=theirs.session_id) == 0
    theirs.refresh_from_db()
    assert theirs.recovered_at is None


def test_recovered_sessions_feed_the_uplift_stats(ingest, site):
    rule = make_rule(site.tenant, action="email", holdout_share=0.5)
    planned = [planned_session(ingest) for _ in range(40)]
    for index, (session, _) in enumerate(planned):
        if index % 3 == 0:
            ingest(str(session.session_uuid), seq=1, events=SUBMIT)

    (row,) = recovery_uplift(tenant=site.tenant)

    executions = ActionExecution.objects.for_tenant(site.tenant).filter(rule=rule)
    treated = executions.exclude(status="holdout")
    held_out = executions.filter(status="holdout")
    assert (row.treated.n, row.holdout.n) == (treated.count(), held_out.count())
    assert row.treated.n + row.holdout.n == 40 and row.holdout.n > 0 and row.treated.n > 0
    assert row.treated.recovered == treated.filter(recovered_at__isnull=False).count()
    assert row.holdout.recovered == held_out.filter(recovered_at__isnull=False).count()
    assert row.treated.recovered + row.holdout.recovered == 14  # sessions 0, 3, …, 39
    assert all(e.recovered_at is None or e.recovered_at >= e.created_at - timedelta(seconds=1) for e in executions)
