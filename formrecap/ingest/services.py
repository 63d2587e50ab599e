"""Storing batches and moving sessions through in_progress → submitted / abandoned."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analytics.services import sessions_ended
from classifier.services import sessions_abandoned, sessions_left_provisionally
from recovery.services import executions_cancel_for_return, executions_mark_recovered

from ..models import FormSession, Site, TraceChunk
from ..selectors import visitor_other_sessions
from .schema import Batch
from .statements import RowUpdate, insert_unless_present, select_locked, select_value


class SessionLimitExceeded(Exception):
    """The session already holds as many batches or events as a session may."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class BatchConflict(Exception):
    """A seq already stored for this session arrived again with other content (a retry sends the same)."""


@dataclass(frozen=True)
class IngestResult:
    session: FormSession
    duplicate: bool


def events_json(batch: Batch) -> str:
    """The batch's events as canonical JSON: hashed into its fingerprint and stored as they are."""
    return json.dumps(batch.events, separators=(",", ":"), sort_keys=True)


def batch_fingerprint(batch: Batch, events: str | None = None) -> str:
    """What a retry must repeat exactly: the form, the path and the events (not sent_at, which a resend may renew).

    The hash of ``json.dumps([form_id, path, events], separators=(",", ":"), sort_keys=True)``, built from the
    events' own canonical JSON (``events``, when the caller has it) so that the events are serialised once."""
    events = events_json(batch) if events is None else events
    content = f"[{json.dumps(batch.form_id)},{json.dumps(batch.path)},{events}]"
    return hashlib.blake2b(content.encode(), digest_size=16).hexdigest()


def ingest_batch(*, site: Site, batch: Batch, received_at: datetime | None = None) -> IngestResult:
    """Store one batch exactly once and apply its lifecycle events.

    A retried batch (same session, seq and content) changes nothing and is reported as a duplicate; the same seq
    with other content raises BatchConflict. The session row is locked while its counters and status change, so
    concurrent batches of one session serialise; different sessions never wait for each other. Two statements in
    one transaction on PostgreSQL (lock or create the session; insert the chunk unless its seq is stored and, only
    then, update the session), the writes a hand-written client would make: this is the hottest path of the service.
    """
    received_at = received_at or timezone.now()
    events = events_json(batch)
    fingerprint = batch_fingerprint(batch, events)
    with transaction.atomic():
        session = _session_locked(site=site, batch=batch, received_at=received_at)
        over_limit = _session_limit_exceeded(session, batch)
        if over_limit is None:
            chunk = TraceChunk(
                session=session, seq=batch.seq, events=batch.events, event_count=len(batch.events), fingerprint=fingerprint
            )
            # The session's new values go in the chunk's statement, written only if the chunk is new.
            change = _batch_change(site, session, batch)
            then_update = RowUpdate(FormSession, session.pk, change.values)
            if insert_unless_present(chunk, unique=("session", "seq"), serialised={"events": events}, then_update=then_update):
                _apply_change(site, session, batch, change)
                return IngestResult(session=session, duplicate=False)
        stored_fingerprint = select_value(TraceChunk, "fingerprint", session=session.pk, seq=batch.seq)
        if stored_fingerprint is None and over_limit is not None:
            raise over_limit
    if stored_fingerprint and stored_fingerprint != fingerprint:
        raise BatchConflict(
            f"seq {batch.seq} of session {batch.session_id} is already stored with other content; "
            "a retry must resend the same batch, new events need the next seq"
        )
    return IngestResult(session=session, duplicate=True)


def _session_locked(*, site: Site, batch: Batch, received_at: datetime) -> FormSession:
    """The batch's session, its row locked until the transaction ends: created by the first batch to arrive."""
    if batch.seq > 0:  # most batches: the session exists
        session = select_locked(FormSession, site=site.pk, session_uuid=batch.session_id)
        if session is not None:
            return session
    # sent_at is on the same clock as ts (ms since the session started), so the server
    # can place the start on its own clock without trusting the visitor's wall clock.
    started_at = received_at - timedelta(milliseconds=batch.sent_at)
    session = FormSession(
        tenant_id=site.tenant_id,
        site_id=site.pk,
        session_uuid=batch.session_id,
        form_id=batch.form_id,
        path=batch.path,
        started_at=started_at,
        last_event_at=started_at,
    )
    # The new row is locked by this transaction; when another batch created it first, lock theirs.
    if insert_unless_present(session, unique=("site", "session_uuid")):
        return session
    return select_locked(FormSession, site=site.pk, session_uuid=batch.session_id)


def _session_limit_exceeded(session: FormSession, batch: Batch) -> SessionLimitExceeded | None:
    max_batches = settings.FORMRECAP_SESSION_MAX_BATCHES
    max_events = settings.FORMRECAP_SESSION_MAX_EVENTS
    if session.batch_count >= max_batches:
        return SessionLimitExceeded(
            f"session {session.session_uuid} already has {max_batches} batches, the most a session may send", status_code=429
        )
    if session.event_count + len(batch.events) > max_events:
        return SessionLimitExceeded(
            f"session {session.session_uuid} would exceed {max_events} events "
            f"({session.event_count} stored, {len(batch.events)} sent)",
            status_code=413,
        )
    return None


@dataclass(frozen=True)
class _BatchChange:
    values: dict  # the session's fields that change, with their new values
    previous_status: str
    returned: bool  # the batch shows a visitor back on a page they had left
    at: datetime


def _batch_change(site: Site, session: FormSession, batch: Batch) -> _BatchChange:
    """What storing ``batch`` changes on its session: counters, visitor ids and the lifecycle (see
    :func:`_lifecycle_change`). Nothing is written: the session row is locked and was read under the lock, so the
    new values are computed here and written as they are (no read back)."""
    update = {"batch_count": session.batch_count + 1, "event_count": session.event_count + len(batch.events)}
    # Capped at now: a skewed sent_at must not push a session's inactivity out into the future.
    last_event_at = min(session.started_at + timedelta(milliseconds=batch.last_ts), timezone.now())
    extends = bool(batch.events) and last_event_at > session.last_event_at
    if extends:
        update["last_event_at"] = last_event_at
    if batch.visitor:
        update["visitor_ref"] = batch.visitor
    if batch.anonymous_id and not session.anonymous_id:
        update["anonymous_id"] = batch.anonymous_id
    now = timezone.now()
    change, returned = _lifecycle_change(site, session, batch, extends=extends, now=now)
    update.update(change)
    return _BatchChange(values=update, previous_status=session.status, returned=returned, at=now)


def _apply_change(site: Site, session: FormSession, batch: Batch, change: _BatchChange) -> None:
    """After the batch and its change are written: the session in memory, recovery's marks, the visitor's other
    sessions, and the tasks that run after commit."""
    for name, value in change.values.items():
        setattr(session, name, value)
    previous_status, returned, now = change.previous_status, change.returned, change.at
    tenant = site.tenant
    if session.status == FormSession.Status.SUBMITTED and previous_status != FormSession.Status.SUBMITTED:
        # The visitor came back: whatever recovery did (or held back) for this session counts as recovered.
        executions_mark_recovered(tenant=tenant, session_id=session.pk, at=now)
        _visitor_sessions_recovered(site=site, session=session, at=now)
        sessions_ended(sessions=[(session.tenant_id, session.pk)])
    elif returned and previous_status == FormSession.Status.ABANDONED:
        executions_cancel_for_return(tenant=tenant, session_ids=[session.pk], reason="the visitor came back to this page")
    if session.batch_count == 1 and (batch.anonymous_id or batch.visitor):
        _visitor_returned(site=site, session=session, at=now)
    if session.status == FormSession.Status.ABANDONED and (previous_status != FormSession.Status.ABANDONED or returned):
        # Newly abandoned for good, or back and gone again: (re)classify after commit.
        sessions_abandoned(sessions=[(session.tenant_id, session.pk)])
        sessions_ended(sessions=[(session.tenant_id, session.pk)])
    elif session.status == FormSession.Status.EXITED or (session.hidden_at and "hide" in batch.kinds):
        # Shown at once (admin, the live demo); recovery waits for the final abandonment.
        sessions_left_provisionally(sessions=[(session.tenant_id, session.pk)])


def _lifecycle_change(site: Site, session: FormSession, batch: Batch, *, extends: bool, now: datetime) -> tuple[dict, bool]:
    """The status fields a batch changes, and whether it shows a visitor back on a page they had left.

    A submit anywhere in the batch means the form was sent (a submit followed by the page's exit is the
    common case), whatever happened before: a visitor who came back after abandoning, abandoned_at kept as
    history. Otherwise only a batch that extends the session's timeline moves it (a late retry of older
    events changes nothing), by its last event: ``exit`` (the page is gone) starts the site's outreach
    delay, or abandons for good when that is 0; ``hide`` notes the hidden tab; anything else is the
    visitor active again (a tab shown, a page restored from the back-forward cache).
    """
    Status = FormSession.Status
    if session.status == Status.SUBMITTED:
        return {}, False
    if "submit" in batch.kinds:
        return {"status": Status.SUBMITTED, "submitted_at": now, "hidden_at": None}, False
    if not extends:
        return {}, False
    left = (Status.EXITED, Status.RETURNED, Status.ABANDONED)
    returned = session.status in left and bool(batch.kinds - {"hide", "scroll", "exit"})
    change: dict = {"returned_at": now} if returned else {}
    # A page going away may report its hiding after its exit: neither says the visitor is back.
    ending = [event["type"] for event in batch.events if event["type"] not in ("hide", "scroll")]
    if ending and ending[-1] == "exit":
        if site.outreach_delay_seconds == 0:
            change.update(status=Status.ABANDONED, exited_at=now, hidden_at=None)
            if session.status != Status.ABANDONED or returned:
                change["abandoned_at"] = now  # a second exit of the same absence keeps the first time
        else:
            change.update(status=Status.EXITED, exited_at=now, hidden_at=None)
        return change, returned
    change["hidden_at"] = now if batch.events[-1]["type"] == "hide" else None
    if returned:
        change["status"] = Status.IN_PROGRESS
    return change, returned


def _visitor_left_sessions(*, site: Site, session: FormSession, at: datetime):
    """The same visitor's other sessions on the site that were left (exited or abandoned) within the attribution window."""
    Status = FormSession.Status
    return visitor_other_sessions(site=site, session=session).filter(
        status__in=[Status.ABANDONED, Status.EXITED, Status.RETURNED],
        started_at__gte=at - timedelta(seconds=site.attribution_window_seconds),
    )


def _visitor_sessions_recovered(*, site: Site, session: FormSession, at: datetime) -> None:
    """A submit: the same visitor's earlier sessions left within the attribution window are recovered."""
    left = _visitor_left_sessions(site=site, session=session, at=at)
    ids = list(left.filter(recovered_at__isnull=True, started_at__lt=session.started_at).values_list("pk", flat=True))
    if not ids:
        return
    FormSession.objects.for_tenant(site.tenant).filter(pk__in=ids).update(recovered_at=at)
    FormSession.objects.for_tenant(site.tenant).filter(pk__in=ids, returned_at__isnull=True).update(returned_at=at)
    for session_id in ids:
        executions_mark_recovered(tenant=site.tenant, session_id=session_id, at=at, by_session_id=session.pk)


def _visitor_returned(*, site: Site, session: FormSession, at: datetime) -> None:
    """A new session of a known visitor: the sessions they left here earlier get nothing more (cancelled), and
    those still inside their outreach delay are never abandoned for good."""
    left = _visitor_left_sessions(site=site, session=session, at=at).filter(returned_at__isnull=True)
    ids = list(left.values_list("pk", flat=True))
    if not ids:
        return
    sessions = FormSession.objects.for_tenant(site.tenant).filter(pk__in=ids)
    sessions.filter(status=FormSession.Status.EXITED).update(status=FormSession.Status.RETURNED)
    sessions.update(returned_at=at)
    executions_cancel_for_return(
        tenant=site.tenant, session_ids=ids, reason=f"the visitor came back (session {session.session_uuid})"
    )


def sweep_inactive_sessions(*, now: datetime | None = None) -> int:
    """Abandon for good every session whose page is gone for longer than its site's outreach delay, and
    every in-progress one (idle, or its tab hidden) with no events for longer than its site's inactivity
    timeout. Returns how many."""
    now = now or timezone.now()
    abandoned = 0
    for delay in Site.all_tenants.values_list("outreach_delay_seconds", flat=True).distinct():
        exited = Q(status=FormSession.Status.EXITED, site__outreach_delay_seconds=delay)
        abandoned += _sweep(exited & Q(exited_at__lt=now - timedelta(seconds=delay)), now=now)
    for timeout in Site.all_tenants.values_list("abandonment_timeout_seconds", flat=True).distinct():
        idle = Q(status=FormSession.Status.IN_PROGRESS, site__abandonment_timeout_seconds=timeout)
        abandoned += _sweep(idle & Q(last_event_at__lt=now - timedelta(seconds=timeout)), now=now)
    return abandoned


SWEEP_CHUNK = 1000


def _sweep(stale_filter: Q, *, now: datetime) -> int:
    """Abandon, in chunks of SWEEP_CHUNK per transaction, the sessions ``stale_filter`` selects."""
    abandoned = 0
    while True:
        with transaction.atomic():
            # Locked rows are being ingested right now: skip them, the next sweep sees their new state.
            stale = list(
                FormSession.all_tenants.select_for_update(skip_locked=True, of=("self",))
                .filter(stale_filter)
                .values_list("tenant_id", "pk")[:SWEEP_CHUNK]
            )
            FormSession.all_tenants.filter(pk__in=[pk for _, pk in stale]).update(
                status=FormSession.Status.ABANDONED, abandoned_at=now
            )
            sessions_abandoned(sessions=stale)
            sessions_ended(sessions=stale)
        abandoned += len(stale)
        if len(stale) < SWEEP_CHUNK:
            return abandoned
