"""``GET /demo/reading/?site_key=…&session=<uuid>``: the demo page's live panel polls its session's reading here.

Public like the snippet: the site key is in every page, and the session uuid, random and known only to the
visitor's browser, is what opens a session. Every refusal is JSON naming the problem, never an HTML error page.
"""

import uuid

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from classifier.labels import CLASSES
from classifier.session_reading import Reading, SessionReading, session_reading

from .selectors import site_resolve_public_key


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@require_GET
def demo_reading(request: HttpRequest) -> JsonResponse:
    site_key = request.GET.get("site_key", "")
    raw_session = request.GET.get("session", "")
    if not site_key:
        return _error("site_key is required", 400)
    if not raw_session:
        return _error("session is required (the snippet's formrecap.sessionId())", 400)
    try:
        session_uuid = uuid.UUID(raw_session)
    except ValueError:
        return _error(f"session: {raw_session[:64]!r} is not a UUID", 400)
    site = site_resolve_public_key(site_key=site_key)
    if site is None:
        return _error("site_key: unknown site key", 404)
    result = session_reading(site=site, session_uuid=session_uuid)
    if result is None:
        # Also the answer before the snippet's first batch arrives: the page keeps polling.
        return _error(f"no session {session_uuid} on this site (yet)", 404)
    response = JsonResponse(_payload(result, site_outreach_delay=site.outreach_delay_seconds))
    response["Cache-Control"] = "no-store"
    return response


def _payload(result: SessionReading, *, site_outreach_delay: int) -> dict:
    session = result.session
    return {
        "session": str(session.session_uuid),
        "status": session.status,
        "status_label": session.get_status_display(),
        "hidden": session.hidden_at is not None,
        "event_count": session.event_count,
        "admin_url": reverse("admin:formrecap_formsession_change", args=[session.pk]),
        "outreach_delay_seconds": site_outreach_delay,
        "reading": _reading(result.reading) if result.reading else None,
        "note": result.note,
    }


def _reading(reading: Reading) -> dict:
    return {
        "class": reading.label,
        "code": reading.code,
        "confidence": round(reading.confidence, 4),
        "probabilities": [
            {"code": code, "class": name, "probability": round(p, 4)}
            for (code, name), p in zip(CLASSES.items(), reading.probabilities, strict=True)
        ],
        "explanation": reading.explanation,
        "final": reading.final,
        "stored": reading.stored,
        "backend": reading.backend,
        "model_version": reading.model_version,
        "calibrated": reading.calibrated,
        "events_seen": reading.events_seen,
    }
