"""Reads of the classifier's data: a session's trace as the model reads it, and what is still unclassified.

Other apps (training, recovery, the API, admin) read through here rather than through classifier.services."""

from dataclasses import replace
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from formrecap.models import FormSession
from formrecap.selectors import form_session_events

from .models import Prediction
from .trace import IDLE_GAP_MS, MAX_TOKENS, Token, Trace, normalise_events


def session_trace(*, session: FormSession, now: datetime | None = None) -> Trace:
    """The session's events as a trace; a very long session keeps its last tokens (where it ended).

    A session that ended without an exit (idle, or a hidden tab that never came back) ends in its trailing
    inactivity, from its last event to its abandonment (or to now, for a provisional reading), then ``exit``:
    a visitor who went idle and never returned is not an abrupt exit.
    """
    # Ingest checks each batch on its own, so a clock may step back between batches (a page reload):
    # keep batch order and hold such timestamps at the last one, rather than refuse the whole session.
    events, latest = [], 0
    for event in form_session_events(session=session):
        latest = max(latest, event["ts"])
        events.append({**event, "ts": latest})
    trace = normalise_events(events, max_tokens=MAX_TOKENS, keep_tail=True)
    if events and events[-1]["type"] in ("exit", "submit"):
        return trace
    ended_at = session.abandoned_at if session.status == FormSession.Status.ABANDONED else (now or timezone.now())
    trailing_ms = max(0, int((ended_at - session.last_event_at).total_seconds() * 1000))
    tail = (Token("scroll", "page", duration_ms=trailing_ms),) if trailing_ms >= IDLE_GAP_MS else ()
    timing = replace(trace.timing, duration_ms=trace.timing.duration_ms + trailing_ms) if trace.timing else None
    return replace(trace, tokens=(trace.tokens + tail + (Token("exit"),))[-MAX_TOKENS:], timing=timing)


CATCH_UP_DAYS = 7


def sessions_unclassified(*, limit: int = 500) -> list[tuple[int, int]]:
    """Abandoned sessions of the last week with no prediction yet (a lost task, a backend that was down).

    A system query across tenants, used only by the periodic catch-up task.
    """
    since = timezone.now() - timedelta(days=CATCH_UP_DAYS)
    return list(
        FormSession.all_tenants.filter(
            status=FormSession.Status.ABANDONED,
            abandoned_at__gte=since,
            event_count__gt=0,
            classification_error="",
        )
        .exclude(Exists(Prediction.all_tenants.filter(session=OuterRef("pk"), final=True)))
        .order_by("abandoned_at")
        .values_list("tenant_id", "pk")[:limit]
    )
