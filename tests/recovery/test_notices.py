"""Which executions get a follow-up notice (session.returned / session.recovered): those that told an endpoint."""

from recovery import tasks
from recovery.notices import SESSION_RETURNED, session_notices_enqueue
from tests.recovery.actions import abandoned_session, rule_for, scheduled_execution

URL = "https://hooks.example.com/x"


def test_only_actions_delivered_to_an_endpoint_get_a_notice(site, monkeypatch, django_capture_on_commit_callbacks):
    session = abandoned_session(site)
    hook, _ = rule_for(site, "webhook", params={"url": URL})
    pending_hook, _ = rule_for(site, "webhook", params={"url": URL})
    by_email, _ = rule_for(site, "discount", params={"amount": "10%", "via": "email"})
    told = scheduled_execution(session, hook, status="succeeded", detail={"webhook_id": f"{session.pk}:{hook.pk}", "url": URL})
    scheduled_execution(session, pending_hook, idempotency_key="not-sent-yet")  # scheduled: told nobody yet
    scheduled_execution(session, by_email, status="succeeded", detail={"via": "email"}, idempotency_key="by-email")
    sent = []
    monkeypatch.setattr(tasks.send_notice_task, "delay", lambda pk, event: sent.append((pk, event)))

    with django_capture_on_commit_callbacks(execute=True):
        session_notices_enqueue(tenant=site.tenant, session_id=session.pk, event=SESSION_RETURNED)

    assert sent == [(told.pk, SESSION_RETURNED)]
