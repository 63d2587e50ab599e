"""Writes of the analytics app: a session's field figures, replaced whole whenever the session ends again."""

from collections.abc import Sequence

from django.db import transaction

from formrecap.models import FormSession, Tenant
from formrecap.selectors import form_session_events

from .field_summary import session_field_figures
from .models import FieldStat

ENDED = (FormSession.Status.SUBMITTED, FormSession.Status.ABANDONED)
# Field figures are integers in PositiveIntegerField columns: a pathological trace cannot overflow them.
_CAP = 2**31 - 1


def session_fields_summarise(*, tenant: Tenant, session_id: int) -> int:
    """Replace the session's FieldStat rows from its events; returns how many. Sessions that have not ended get none
    (and lose any they had: a visitor back on a page they abandoned is not done yet). Safe to call again."""
    with transaction.atomic():
        session = FormSession.objects.for_tenant(tenant).select_for_update().filter(pk=session_id).first()
        if session is None:
            return 0
        FieldStat.objects.for_tenant(tenant).filter(session_id=session_id).delete()
        if session.status not in ENDED:
            return 0
        rows = [
            FieldStat(
                tenant=tenant,
                site_id=session.site_id,
                session_id=session.pk,
                form_id=session.form_id,
                started_at=session.started_at,
                submitted=session.status == FormSession.Status.SUBMITTED,
                field=figures.field,
                position=min(figures.position, 32767),
                focus_count=min(figures.focus_count, _CAP),
                time_ms=min(figures.time_ms, _CAP),
                inputs=min(figures.inputs, _CAP),
                corrections=min(figures.corrections, _CAP),
                failures=min(figures.failures, _CAP),
                reason=figures.reason,
                is_last=figures.is_last,
            )
            for figures in session_field_figures(form_session_events(session=session))
        ]
        FieldStat.objects.for_tenant(tenant).bulk_create(rows)
    return len(rows)


def sessions_ended(*, sessions: Sequence[tuple[int, int]]) -> None:
    """Called inside the transaction that submitted or abandoned (tenant id, session id) pairs: their field figures
    are written by a task of their own after commit."""
    from .tasks import summarise_session_task

    for tenant_id, session_id in sessions:
        # robust: a broker hiccup loses figures, never the caller's commit; `summarise_fields` rebuilds them.
        transaction.on_commit(lambda t=tenant_id, s=session_id: summarise_session_task.delay(t, s), robust=True)
