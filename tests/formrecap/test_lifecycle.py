"""When a session is left, hidden, back, abandoned for good, recovered: ingest, the sweep, and what recovery plans.

The site here has the production outreach delay (30 min) unless a test sets another; classification and planning
run after commit (eager Celery), on the real embedded model.
"""

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from classifier.models import Prediction
from classifier.selectors import session_trace
from formrecap.ingest.services import sweep_inactive_sessions
from formrecap.models import FormSession, default_outreach_delay
from recovery.models import ActionExecution
from tests.classifier.helpers import VALIDATION_EVENTS
from tests.conftest import SITE_ORIGIN
from tests.recovery.plans import make_rule

pytestmark = pytest.mark.usefixtures("active_embedded_model")
TYPING = [
    {"type": "focus", "field": "email", "ts": 0},
    *({"type": "input", "field": "email", "ts": 300 + 180 * i} for i in range(12)),
    {"type": "blur", "field": "email", "ts": 2600},
    {"type": "focus", "field": "name", "ts": 3000},
    *({"type": "input", "field": "name", "ts": 3200 + 170 * i} for i in range(8)),
]


@pytest.fixture
def site(site):
    site.outreach_delay_seconds = default_outreach_delay()
    site.save(update_fields=["outreach_delay_seconds"])
    return site


@pytest.fixture
def send(make_batch, django_capture_on_commit_callbacks):
    """Posts one batch of session ``sid`` (after-commit work runs); returns the session row."""
    seqs: dict[str, int] = {}

    def post(sid: str, events: list[dict], **fields) -> FormSession:
        seq = seqs[sid] = seqs.get(sid, -1) + 1
        body = make_batch(session_id=sid, seq=seq, events=events, **fields)
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().generic(
                "POST", "/api/v1/ingest/", data=json.dumps(body), content_type="text/plain", HTTP_ORIGIN=SITE_ORIGIN
            )
        assert response.status_code == 202, response.content
        return FormSession.all_tenants.get(session_uuid=sid)

    return post


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    def run(*, after: timedelta) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return sweep_inactive_sessions(now=timezone.now() + after)

    return run


def predictions(session: FormSession) -> list[Prediction]:
    return list(Prediction.objects.for_tenant(session.tenant).filter(session=session))


def executions(session: FormSession) -> list[ActionExecution]:
    return list(ActionExecution.objects.for_tenant(session.tenant).filter(session=session).order_by("pk"))


def at(events: list[dict], ms: int) -> list[dict]:
    return [{**e, "ts": e["ts"] + ms} for e in events]


def test_exit_waits_for_the_outreach_delay_with_a_provisional_reading(site, send, sweep):
    make_rule(site.tenant, "email", class_code=None)
    session = send("11111111-1111-4111-8111-111111111111", [*VALIDATION_EVENTS])
    assert session.status == "exited" and session.exited_at and session.abandoned_at is None
    [provisional] = predictions(session)
    assert provisional.final is False and provisional.label == "validation_error"
    assert executions(session) == []  # recovery waits for the final abandonment

    assert sweep(after=timedelta(seconds=site.outreach_delay_seconds - 60)) == 0
    assert sweep(after=timedelta(seconds=site.outreach_delay_seconds + 1)) == 1
    session.refresh_from_db()
    assert session.status == "abandoned" and session.planned_at is not None
    [final] = predictions(session)
    assert final.pk == provisional.pk and final.final is True
    [execution] = executions(session)
    assert execution.action == "email"


def test_a_hidden_tab_is_not_abandoned_and_its_time_away_is_idle(site, send, sweep):
    sid = str(uuid.uuid4())
    session = send(sid, [*TYPING, {"type": "hide", "ts": 5000}])
    assert session.status == "in_progress" and session.hidden_at is not None
    assert predictions(session)[0].final is False  # shown at once, never acted on
    session = send(sid, [{"type": "show", "ts": 65000}, {"type": "focus", "field": "phone", "ts": 65500}])
    assert session.status == "in_progress" and session.hidden_at is None
    assert sweep(after=timedelta(minutes=5)) == 0
    assert "scroll:page(60000ms)" in _tokens(session)


def test_hidden_and_never_back_is_abandoned_after_the_inactivity_timeout_ending_in_its_idle(site, send, sweep):
    session = send(str(uuid.uuid4()), [*TYPING, {"type": "hide", "ts": 5000}])
    assert sweep(after=timedelta(seconds=site.abandonment_timeout_seconds + 30)) == 1
    session.refresh_from_db()
    assert session.status == "abandoned"
    tokens = _tokens(session)
    assert tokens[-1] == "exit" and tokens[-2].startswith("scroll:page(") and _ms(tokens[-2]) >= 1800 * 1000
    [final] = predictions(session)
    assert final.final and final.label != "accidental_exit"  # idle, then gone: not an abrupt exit


def test_hidden_then_closed_carries_the_time_away(site, send):
    sid = str(uuid.uuid4())
    send(sid, [*TYPING, {"type": "hide", "ts": 5000}])
    session = send(sid, [{"type": "scroll", "ts": 95000, "duration_ms": 90000}, {"type": "exit", "ts": 95000}])
    assert session.status == "exited"
    tokens = _tokens(session)
    assert tokens[-2:] == ["scroll:page(90000ms)", "exit"]


def test_coming_back_within_the_delay_keeps_it_in_progress(site, send, sweep):
    site.abandonment_timeout_seconds = 2 * site.outreach_delay_seconds
    site.save(update_fields=["abandonment_timeout_seconds"])
    sid = str(uuid.uuid4())
    send(sid, [*TYPING, {"type": "exit", "ts": 5000}])
    session = send(sid, [{"type": "focus", "field": "phone", "ts": 20000}])  # restored from the back-forward cache
    assert session.status == "in_progress" and session.returned_at is not None
    assert sweep(after=timedelta(seconds=site.outreach_delay_seconds + 1)) == 0


def test_a_late_retry_of_older_events_changes_nothing(site, send):
    sid = str(uuid.uuid4())
    send(sid, [*TYPING[:5], {"type": "exit", "ts": 9000}])
    session = send(sid, TYPING[5:8], sent_at=9500)  # an older batch whose beacon arrived second
    assert session.status == "exited" and session.returned_at is None


def test_a_visitor_back_in_a_new_session_before_the_plan_gets_nothing(site, send, sweep):
    make_rule(site.tenant, "email", class_code=None)
    left = send(str(uuid.uuid4()), [*VALIDATION_EVENTS], anonymous_id="a6f0c8e2-visitor-1")
    send(str(uuid.uuid4()), TYPING[:3], anonymous_id="a6f0c8e2-visitor-1")  # a new page view, same browser
    left.refresh_from_db()
    assert (left.status, left.returned_at is not None) == ("returned", True)
    sweep(after=timedelta(seconds=site.outreach_delay_seconds + 1))
    left.refresh_from_db()
    assert left.status == "returned" and left.abandoned_at is None and executions(left) == []
    assert [p.final for p in predictions(left)] == [False]  # read at once, never acted on


def test_a_return_after_the_plan_cancels_what_is_pending(site, send, sweep):
    rule = make_rule(site.tenant, "email", class_code=None, delay_seconds=3600)
    left = send(str(uuid.uuid4()), [*VALIDATION_EVENTS], visitor="crm-77")
    sweep(after=timedelta(seconds=site.outreach_delay_seconds + 1))
    [pending] = executions(left)
    assert (pending.rule, pending.status) == (rule, "scheduled")

    send(str(uuid.uuid4()), TYPING[:3], visitor="crm-77")
    pending.refresh_from_db()
    assert pending.status == "cancelled" and "came back" in pending.detail["cancelled"]


def test_a_later_submit_by_the_same_visitor_recovers_treated_and_holdout_alike(site, send, sweep):
    treated_rule = make_rule(site.tenant, "suppress", class_code=None, priority=5)
    first = send(str(uuid.uuid4()), [*VALIDATION_EVENTS], anonymous_id="b7e1-visitor-2")
    held_rule = make_rule(site.tenant, "email", class_code=None, holdout_share=1.0, priority=9)
    second = send(str(uuid.uuid4()), [*TYPING, {"type": "exit", "ts": 6000}], anonymous_id="b7e1-visitor-2")
    sweep(after=timedelta(seconds=site.outreach_delay_seconds + 1))
    first.refresh_from_db()
    # the first session's visitor came back (the second session) within its outreach delay
    assert executions(first) == [] and (first.status, first.returned_at is not None) == ("returned", True)
    [held] = executions(second)
    assert (held.rule, held.status) == (held_rule, "holdout")
    assert treated_rule.pk  # kept for the priority order above

    won = send(str(uuid.uuid4()), [*TYPING, {"type": "submit", "ts": 6000}], anonymous_id="b7e1-visitor-2")
    held.refresh_from_db()
    second.refresh_from_db()
    assert held.recovered_at is not None and held.recovered_by_session_id == won.pk
    assert second.recovered_at is not None


def test_a_submit_outside_the_attribution_window_recovers_nothing(site, send, sweep):
    make_rule(site.tenant, "suppress", class_code=None)
    left = send(str(uuid.uuid4()), [*VALIDATION_EVENTS], visitor="crm-9")
    sweep(after=timedelta(seconds=site.outreach_delay_seconds + 1))
    FormSession.all_tenants.filter(pk=left.pk).update(started_at=timezone.now() - timedelta(days=8))
    send(str(uuid.uuid4()), [*TYPING, {"type": "submit", "ts": 6000}], visitor="crm-9")
    assert [e.recovered_at for e in executions(left)] == [None]


def test_ux_alerts_run_beside_the_winning_action(site, send, sweep):
    email = make_rule(site.tenant, "email", class_code=1, priority=1)
    alert = make_rule(site.tenant, "ux_alert", class_code=1, priority=50)
    session = send(str(uuid.uuid4()), [*VALIDATION_EVENTS])
    sweep(after=timedelta(seconds=site.outreach_delay_seconds + 1))
    assert {e.rule for e in executions(session)} == {email, alert}


def test_an_unnamed_failure_from_an_old_snippet_is_kept_as_invalid(site, send):
    events = [*TYPING[:4], {"type": "blur", "field": "email", "ts": 900, "validation": None}, {"type": "exit", "ts": 1500}]
    session = send(str(uuid.uuid4()), events)
    assert "blur:email(invalid)" in _tokens(session)


def _tokens(session: FormSession) -> list[str]:
    from classifier.trace import serialise_trace

    session.refresh_from_db()
    return serialise_trace(session_trace(session=session)).split(", ")


def _ms(token: str) -> int:
    return int(token.split("(")[1].removesuffix("ms)"))
