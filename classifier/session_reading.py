"""A session's current reading, for the live demo: its newest stored prediction, or, while the visitor may still be
on the form, one computed now from the events stored so far (never stored, never acted on).

A read: nothing here writes. Stored predictions come from classifier.services.prediction_for_session.
"""

import uuid
from dataclasses import dataclass

from django.core.cache import cache

from formrecap.models import FormSession, Site, Tenant

from .backends import BackendUnavailable, backend_for_site
from .labels import CLASSES
from .models import Prediction
from .selectors import session_trace

# Polls of one session within this long share one live reading: a flood of polls costs one classification a second.
LIVE_READING_CACHE_SECONDS = 1
PROVISIONAL_STORED = "stored when the tab was hidden or the page left; recovery waits for the final reading"


@dataclass(frozen=True)
class Reading:
    code: int
    probabilities: tuple[float, ...]  # codes 1..6, summing to 1
    explanation: dict  # {"reason": str, "signals": [str]}
    final: bool
    stored: bool  # False: computed for this answer from the events so far
    backend: str
    model_version: str
    calibrated: bool
    events_seen: int

    @property
    def label(self) -> str:
        return CLASSES[self.code]

    @property
    def confidence(self) -> float:
        return self.probabilities[self.code - 1]


@dataclass(frozen=True)
class SessionReading:
    session: FormSession
    reading: Reading | None
    note: str  # what the reading is, or why there is none


def session_reading(*, site: Site, session_uuid: uuid.UUID) -> SessionReading | None:
    """The reading of the site's session ``session_uuid``, or None when the site has no such session (yet).

    The newest stored prediction is the answer unless the visitor is on the page again and has done more since it
    was read (a provisional reading taken while the tab was hidden goes stale once they are back and typing).
    """
    tenant = site.tenant
    session = FormSession.objects.for_tenant(tenant).filter(site=site, session_uuid=session_uuid).first()
    if session is None:
        return None
    stored = _newest_stored(tenant, session)
    Status = FormSession.Status
    on_the_page = session.status == Status.IN_PROGRESS and session.hidden_at is None
    if stored is not None and not (on_the_page and stored.events_seen < session.event_count):
        note = "final: the session was abandoned for good" if stored.final else PROVISIONAL_STORED
        return SessionReading(session, stored, note)
    if not session.event_count:
        return SessionReading(session, None, "waiting for events")
    if session.status == Status.SUBMITTED:
        return SessionReading(session, stored, "the form was sent: a sent form is not an abandonment")
    if session.status == Status.ABANDONED:
        note = f"cannot be classified: {session.classification_error}" if session.classification_error else "final reading due"
        return SessionReading(session, stored, note)
    if site.classifier_backend != Site.Backend.EMBEDDED:
        # A remote or GPU backend (or a cascade that may escalate to one) would be called on every poll of a public
        # endpoint: such a site's sessions are read only when they are left.
        return SessionReading(
            session, stored, f"no live reading: this site's backend ({site.classifier_backend}) reads a session once it is left"
        )
    try:
        live = _live_reading(site, session)
    except BackendUnavailable as exc:
        return SessionReading(session, stored, f"no live reading: {exc}")
    return SessionReading(session, live, "live: the events so far, read as if the visitor left now (not stored, not acted on)")


def _newest_stored(tenant: Tenant, session: FormSession) -> Reading | None:
    prediction = (
        Prediction.objects.for_tenant(tenant)
        .filter(session=session)
        .select_related("model_version")
        .order_by("-updated_at", "-pk")
        .first()
    )
    if prediction is None:
        return None
    return Reading(
        code=prediction.code,
        probabilities=tuple(float(prediction.probabilities.get(str(code), 0.0)) for code in CLASSES),
        explanation={"reason": "", "signals": [], **(prediction.explanation or {})},
        final=prediction.final,
        stored=True,
        backend=prediction.backend,
        model_version=prediction.model_version.label if prediction.model_version else "",
        calibrated=prediction.calibrated,
        events_seen=prediction.events_seen,
    )


def _live_reading(site: Site, session: FormSession) -> Reading:
    key = f"formrecap:live-reading:{session.pk}:{session.event_count}"
    reading = cache.get(key)
    if reading is None:
        # The trace ends in the inactivity up to now, then an exit: what the session would be read as if left now.
        classification = backend_for_site(site).classify([session_trace(session=session)])[0]
        reading = Reading(
            code=classification.code,
            probabilities=classification.probabilities,
            explanation=classification.explanation.as_dict(),
            final=False,
            stored=False,
            backend=site.classifier_backend,
            model_version=classification.model_version,
            calibrated=classification.calibrated,
            events_seen=session.event_count,
        )
        cache.set(key, reading, LIVE_READING_CACHE_SECONDS)
    return reading
