"""``review``: put the session in the operators' review queue (admin), where a human label can be recorded."""

from classifier.labels import CLASSES

from ..models import ActionExecution, ReviewItem
from .base import SUCCEEDED, HandlerResult, rule_params


def handle_review(execution: ActionExecution) -> HandlerResult:
    reason = rule_params(execution).get("reason") or (
        f"rule {execution.rule_id}: {CLASSES[execution.class_code]} at confidence {execution.confidence:.2f}"
    )
    # One review item per session (one-to-one): a repeat, or another rule's review, finds the first.
    item, created = ReviewItem.objects.for_tenant(execution.tenant).get_or_create(
        session=execution.session,
        defaults={"tenant": execution.tenant, "prediction": execution.prediction, "reason": str(reason)[:200]},
    )
    return HandlerResult(SUCCEEDED, {"review_item": item.pk, "created": created})
