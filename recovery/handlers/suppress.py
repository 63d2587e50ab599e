"""``suppress``: deliberately do nothing (e.g. for bots), and record that nothing was done."""

from ..models import ActionExecution
from .base import SUCCEEDED, HandlerResult, rule_params


def handle_suppress(execution: ActionExecution) -> HandlerResult:
    return HandlerResult(
        SUCCEEDED, {"suppressed": True, "reason": str(rule_params(execution).get("reason", "suppressed by rule"))}
    )
