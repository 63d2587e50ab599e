"""Simulated traffic for the demo tenant, so that a fresh `make run` opens on dashboards with something to read.

Sessions come from the training simulator (the same behaviours the model learns from), spread over the last
``days`` days on a site of their own ("Simulated traffic", so operators can filter it out), and go through the
real pipeline: the embedded model classifies each abandoned one, recovery plans it under the demo's rules, and
field figures are written. Outcomes are simulated too: some visitors come back and submit later (a larger share
of those who were sent an email than of the held-out ones), which is what the recovery pages then measure.
"""

import random
from datetime import timedelta

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from analytics.services import session_fields_summarise
from classifier.services import prediction_for_session
from recovery.models import ActionExecution, RecoveryRule
from recovery.services import executions_mark_recovered, recovery_rule_create

from .models import FormSession, Site, Tenant, TraceChunk
from .services import site_create

SITE_NAME = "Simulated traffic"
SUBMITTED_SHARE = 0.55
RETURN_AFTER_EMAIL, RETURN_ANYWAY = 0.22, 0.08
DEMO_RULES = [
    {"name": "Remind distracted visitors", "action": "email", "class_code": 2, "min_confidence": 0.6, "holdout_share": 0.3,
     "params": {"resume_url": "https://shop.example.com/resume"}},
    {"name": "Remind comparison shoppers", "action": "email", "class_code": 3, "min_confidence": 0.6, "holdout_share": 0.3,
     "params": {"resume_url": "https://shop.example.com/resume"}},
    {"name": "Alert UX on validation errors", "action": "ux_alert", "class_code": 1, "min_confidence": 0.5},
    {"name": "Ignore bots", "action": "suppress", "class_code": 5, "priority": 200},
]  # fmt: skip


def _as_submitted(events: list[dict]) -> list[dict]:
    """A simulated abandonment turned into a visitor who went on to submit: the leaving events become a submit."""
    kept = [event for event in events if event["type"] not in ("exit", "hide", "show")]
    return [*kept, {"type": "submit", "field": None, "ts": (kept[-1]["ts"] if kept else 0) + 800}]


def demo_traffic_seed(*, tenant: Tenant, sessions: int, days: int = 30, seed: int = 20261204) -> int:
    """Seed ``sessions`` simulated sessions once (a second call finds the site already has traffic); returns how many."""
    from training.simulator import simulate_sessions

    site = Site.objects.for_tenant(tenant).filter(name=SITE_NAME).first()
    if site is not None and FormSession.objects.for_tenant(tenant).filter(site=site).exists():
        return 0
    site = site or site_create(tenant=tenant, name=SITE_NAME, allowed_origins=["https://shop.example.com"])
    if not RecoveryRule.objects.for_tenant(tenant).exists():
        for rule in DEMO_RULES:
            recovery_rule_create(tenant=tenant, **rule)
    rng = random.Random(seed)
    now = timezone.now()
    # Simulated visitors have example.test addresses: their emails go to a throwaway outbox, not the console.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        for index, simulated in enumerate(simulate_sessions(sessions, seed=seed)):
            submitted = rng.random() < SUBMITTED_SHARE
            # within the dashboards' default window (the last `days` days, today included), whatever the hour
            started = now - timedelta(days=rng.random() * (days - 2), minutes=40)
            _seed_one(site, index, simulated, submitted=submitted, started=started, rng=rng)
    return sessions


def _seed_one(site: Site, index: int, simulated, *, submitted: bool, started, rng: random.Random) -> None:
    tenant = site.tenant
    events = _as_submitted(simulated.events) if submitted else simulated.events
    duration = timedelta(milliseconds=events[-1]["ts"] if events else 0)
    Status = FormSession.Status
    with transaction.atomic():
        session = FormSession.objects.create(
            tenant=tenant,
            site=site,
            form_id=simulated.form_type,
            path=f"/{simulated.form_type}",
            status=Status.SUBMITTED if submitted else Status.ABANDONED,
            visitor_ref=f"visitor-{index}@example.test",
            started_at=started,
            last_event_at=started + duration,
            exited_at=None if submitted else started + duration,
            submitted_at=started + duration if submitted else None,
            abandoned_at=None if submitted else started + duration + timedelta(minutes=30),
            batch_count=1,
            event_count=len(events),
        )
        TraceChunk.objects.create(session=session, seq=0, events=events, event_count=len(events))
    session_fields_summarise(tenant=tenant, session_id=session.pk)
    if submitted:
        return
    prediction_for_session(tenant=tenant, session_id=session.pk)  # recovery plans it after commit (its own task)
    executions = ActionExecution.objects.for_tenant(tenant).filter(session=session)
    ActionExecution.objects.for_tenant(tenant).filter(session=session).update(created_at=session.abandoned_at)
    treated = executions.filter(status=ActionExecution.Status.SUCCEEDED, action=RecoveryRule.Action.EMAIL).exists()
    if rng.random() < (RETURN_AFTER_EMAIL if treated else RETURN_ANYWAY):
        back = session.abandoned_at + timedelta(hours=rng.uniform(2, 48))
        FormSession.objects.for_tenant(tenant).filter(pk=session.pk).update(recovered_at=back, returned_at=back)
        executions_mark_recovered(tenant=tenant, session_id=session.pk, at=back)
