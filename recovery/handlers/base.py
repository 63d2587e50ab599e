"""What a handler returns, and the one write a handler may make to its own execution while it runs."""

from dataclasses import dataclass

from ..models import ActionExecution

SUCCEEDED = ActionExecution.Status.SUCCEEDED
SKIPPED = ActionExecution.Status.SKIPPED
FAILED = ActionExecution.Status.FAILED


@dataclass(frozen=True)
class HandlerResult:
    status: str  # "succeeded", "skipped" or "failed"
    detail: dict  # what was sent, or why not: stored on the execution
    retryable: bool = False  # a failure that a later attempt may not have (5xx, timeout, 429, mail server down)
    # Whether the rule's webhook endpoint took the delivery (True) or finally failed it (False); None: not called.
    endpoint_delivered: bool | None = None


def skipped(reason: str, **detail) -> HandlerResult:
    return HandlerResult(SKIPPED, {"reason": reason, **detail})


def with_delivery(detail: dict, **changes: object) -> dict:
    """``detail`` with its "delivery" section (claim, marks, errors) changed; a None value removes the key."""
    delivery = {**detail.get("delivery", {}), **changes}
    return {**detail, "delivery": {key: value for key, value in delivery.items() if value is not None}}


def execution_note(execution: ActionExecution, **delivery: object) -> None:
    """Record delivery facts (e.g. ``email="sending"``) on the running execution, committed at once.

    Fenced by (running, attempts): only the delivery that claimed this attempt writes. Raises if the fence
    does not hold, so a handler never goes on to send for an attempt it no longer owns.
    """
    detail = with_delivery(execution.detail, **delivery)
    written = ActionExecution.all_tenants.filter(
        pk=execution.pk, status=ActionExecution.Status.RUNNING, attempts=execution.attempts
    ).update(detail=detail)
    if not written:
        raise RuntimeError(f"execution {execution.pk} is no longer held by this attempt ({execution.attempts})")
    execution.detail = detail


def rule_params(execution: ActionExecution) -> dict:
    return execution.rule.params if execution.rule is not None else {}
