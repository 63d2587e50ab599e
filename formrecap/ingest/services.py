"""Storing batches and moving sessions through in_progress → submitted / abandoned."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from classifier.services import sessions_abandoned
from recovery.services import executions_mark_recovered

from ..models import FormSession, Site, TraceChunk
from .schema import Batch


class SessionLimitExceeded(Exception):
    """The session already holds as many batches or events as a session may."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class IngestResult:
    session: FormSession
    duplicate: bool


def ingest_batch(*, site: Site, batch: Batch, received_at: datetime | None = None) -> IngestResult:
    """Store one batch exactly once and apply its lifecycle events.

    A retried batch (same session and seq) changes nothing and is reported as a duplicate.
    The session row is locked while its counters and status change, so concurrent
    batches of one session serialise; different sessions never wait for each other.
    """
    received_at = received_at or timezone.now()
    session = _session_get_or_create(site=site, batch=batch, received_at=received_at)
    with transaction.atomic():
        session = FormSession.objects.for_tenant(site.tenant).select_for_update().get(pk=session.pk)
        if session.chunks.filter(seq=batch.seq).exists():
            return IngestResult(session=session, duplicate=True)
        _check_session_limits(session, batch)
        try:
            with transaction.atomic():
                TraceChunk.objects.create(session=session, seq=batch.seq, events=batch.events, event_count=len(batch.events))
        except IntegrityError:
            # The row lock serialises batches of a session; the unique (session, seq) is the last word.
            return IngestResult(session=session, duplicate=True)
        _apply_batch(site, session, batch)
    return IngestResult(session=session, duplicate=False)


def _session_get_or_create(*, site: Site, batch: Batch, received_at: datetime) -> FormSession:
    # sent_at is on the same clock as ts (ms since the session started), so the server
    # can place the start on its own clock without trusting the visitor's wall clock.
    started_at = received_at - timedelta(milliseconds=batch.sent_at)
    defaults = {
        "tenant_id": site.tenant_id,
        "form_id": batch.form_id,
        "path": batch.path,
        "started_at": started_at,
        "last_event_at": started_at,
    }
    try:
        with transaction.atomic():
            session, _ = site.form_sessions.get_or_create(session_uuid=batch.session_id, defaults=defaults)
    except IntegrityError:
        # Two first batches raced; the other one created the row.
        session = site.form_sessions.get(session_uuid=batch.session_id)
    return session


def _check_session_limits(session: FormSession, batch: Batch) -> None:
    max_batches = settings.FORMRECAP_SESSION_MAX_BATCHES
    max_events = settings.FORMRECAP_SESSION_MAX_EVENTS
    if session.batch_count >= max_batches:
        raise SessionLimitExceeded(
            f"session {session.session_uuid} already has {max_batches} batches, the most a session may send", status_code=429
        )
    if session.event_count + len(batch.events) > max_events:
        raise SessionLimitExceeded(
            f"session {session.session_uuid} would exceed {max_events} events "
            f"({session.event_count} stored, {len(batch.events)} sent)",
            status_code=413,
        )


def _apply_batch(site: Site, session: FormSession, batch: Batch) -> None:
    update = {"batch_count": F("batch_count") + 1, "event_count": F("event_count") + len(batch.events)}
    # Capped at now: a skewed sent_at must not push a session's inactivity out into the future.
    last_event_at = min(session.started_at + timedelta(milliseconds=batch.last_ts), timezone.now())
    if last_event_at > session.last_event_at:
        update["last_event_at"] = last_event_at
    if batch.visitor:
        update["visitor_ref"] = batch.visitor

    # A submit anywhere in the batch means the form was sent (a submit followed by the page's exit
    # is the common case); an exit only abandons a session that has not been submitted.
    kinds = {event["type"] for event in batch.events}
    now = timezone.now()
    if "submit" in kinds and session.status != FormSession.Status.SUBMITTED:
        # A visitor who came back after abandoning and submitted: submitted, abandoned_at kept as history.
        update.update(status=FormSession.Status.SUBMITTED, submitted_at=now)
    elif "exit" in kinds and session.status == FormSession.Status.IN_PROGRESS:
        update.update(status=FormSession.Status.ABANDONED, abandoned_at=now)

    FormSession.objects.for_tenant(site.tenant).filter(pk=session.pk).update(**update)
    session.refresh_from_db()
    if update.get("status") == FormSession.Status.SUBMITTED:
        # The visitor came back: whatever recovery did (or held back) for this session counts as recovered.
        executions_mark_recovered(tenant=site.tenant, session_id=session.pk, at=now)
    # Newly abandoned, or an abandoned visitor who came back and left again: (re)classify after commit.
    if session.status == FormSession.Status.ABANDONED and "exit" in kinds:
        sessions_abandoned(sessions=[(session.tenant_id, session.pk)])


def sweep_inactive_sessions(*, now: datetime | None = None) -> int:
    """Mark abandoned every in-progress session idle for longer than its site's timeout. Returns how many."""
    now = now or timezone.now()
    abandoned = 0
    timeouts = Site.all_tenants.values_list("abandonment_timeout_seconds", flat=True).distinct()
    for timeout in timeouts:
        abandoned += _sweep_timeout(timeout=timeout, now=now)
    return abandoned


SWEEP_CHUNK = 1000


def _sweep_timeout(*, timeout: int, now: datetime) -> int:
    """Abandon, in chunks of SWEEP_CHUNK per transaction, the stale sessions of sites with this timeout."""
    abandoned = 0
    while True:
        with transaction.atomic():
            # Locked rows are being ingested right now: skip them, the next sweep sees their new state.
            stale = list(
                FormSession.all_tenants.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    status=FormSession.Status.IN_PROGRESS,
                    site__abandonment_timeout_seconds=timeout,
                    last_event_at__lt=now - timedelta(seconds=timeout),
                )
                .values_list("tenant_id", "pk")[:SWEEP_CHUNK]
            )
            FormSession.all_tenants.filter(pk__in=[pk for _, pk in stale]).update(
                status=FormSession.Status.ABANDONED, abandoned_at=now
            )
            sessions_abandoned(sessions=stale)
        abandoned += len(stale)
        if len(stale) < SWEEP_CHUNK:
            return abandoned
