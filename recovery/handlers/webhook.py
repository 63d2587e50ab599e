"""``webhook``: the abandonment, signed (Standard Webhooks), POSTed to the rule's endpoint.

Bodies have the Standard Webhooks shape ``{"type": "session.abandoned", "timestamp": "…", "data": {…}}``
(built by :func:`event_payload`). Every attempt of an execution carries the same ``webhook-id`` (its
idempotency key) and the same bytes, so a receiver that dedupes on it acts once however often the request
arrives (a retry, a redelivery after a lost worker).
"""

from datetime import UTC, datetime

from classifier.labels import CLASSES

from ..models import ActionExecution
from ..webhooks import active_secrets, deliver
from .base import FAILED, SUCCEEDED, HandlerResult, skipped

EVENT_ABANDONMENT = "session.abandoned"
# The typical action per class (DESIGN.md), for receivers that route on it.
SUGGESTED_ACTIONS = {
    1: "alert the site about the failing field or rule; a 'need help?' email",
    2: "re-engagement email or reminder",
    3: "reassurance (reviews, guarantees) or a discount",
    4: "'resume where you left off'",
    5: "nothing; exclude from metrics and outreach",
    6: "nothing, or a low-pressure follow-up",
}


def event_payload(*, type: str, timestamp: datetime, data: dict) -> dict:
    """A Standard Webhooks body: the event ``type`` (``"session.abandoned"``…), when the event happened (ISO 8601,
    UTC) and its ``data``. ``timestamp`` is the event's own time, never the send time, so a retry sends the same bytes.
    """
    return {"type": type, "timestamp": timestamp.astimezone(UTC).isoformat(), "data": data}


def abandonment_timestamp(execution: ActionExecution) -> datetime:
    """When the session was abandoned (or, for a session with no such time, when the action was decided)."""
    return execution.session.abandoned_at or execution.created_at


def abandonment_data(execution: ActionExecution) -> dict:
    """The ``data`` of an abandonment event: the session, its class and the prediction behind it."""
    session, prediction = execution.session, execution.prediction
    return {
        "session": {
            "id": session.pk,
            "uuid": str(session.session_uuid),
            "site": session.site_id,
            "form_id": session.form_id,
            "path": session.path,
            "visitor_ref": session.visitor_ref,
        },
        "class": CLASSES[execution.class_code],
        "code": execution.class_code,
        "probabilities": prediction.probabilities if prediction else {},
        "confidence": execution.confidence,
        "explanation": prediction.explanation if prediction else {},
        "suggested_action": SUGGESTED_ACTIONS[execution.class_code],
        "idempotency_key": execution.idempotency_key,
        "rule": execution.rule_id,
    }


def abandonment_payload(execution: ActionExecution, *, event: str = EVENT_ABANDONMENT) -> dict:
    """The JSON body of an abandonment event: the same bytes for every attempt of the execution."""
    return event_payload(type=event, timestamp=abandonment_timestamp(execution), data=abandonment_data(execution))


def webhook_send(execution: ActionExecution, payload: dict) -> HandlerResult:
    """POST ``payload`` to the rule's URL, signed with its active secrets; ``webhook-id`` = the idempotency key."""
    rule = execution.rule
    if rule is None:
        return skipped("the rule was deleted before the action ran")
    if rule.disabled_at is not None:
        return skipped(
            f"webhook endpoint disabled since {rule.disabled_at.isoformat()} "
            f"after {rule.consecutive_failures} failed deliveries in a row"
        )
    url = rule.params.get("url")
    if not isinstance(url, str) or not url:
        return HandlerResult(FAILED, {"error": "the rule has no webhook url"})
    result = deliver(url=url, payload=payload, secrets=active_secrets(rule), msg_id=execution.idempotency_key)
    detail = {"url": url, "webhook_id": execution.idempotency_key, "status_code": result.status_code}
    if result.ok:
        return HandlerResult(SUCCEEDED, detail, endpoint_delivered=True)
    return HandlerResult(FAILED, {**detail, "error": result.error}, retryable=result.retryable, endpoint_delivered=False)


def handle_webhook(execution: ActionExecution) -> HandlerResult:
    return webhook_send(execution, abandonment_payload(execution))
