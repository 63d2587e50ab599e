"""Action handlers: one small module per action, and the registry that recovery.delivery calls them through.

A handler takes a claimed (running) execution, does its action, and returns a HandlerResult; it never sets the
execution's status itself. Handlers are safe to run again for the same execution (see recovery.delivery).
"""

from collections.abc import Callable

from ..models import ActionExecution, RecoveryRule
from .base import HandlerResult
from .discount import handle_discount
from .email import handle_email
from .review import handle_review
from .suppress import handle_suppress
from .ux_alert import handle_ux_alert
from .webhook import handle_webhook

Action = RecoveryRule.Action

HANDLERS: dict[str, Callable[[ActionExecution], HandlerResult]] = {
    Action.EMAIL: handle_email,
    Action.WEBHOOK: handle_webhook,
    Action.DISCOUNT: handle_discount,
    Action.UX_ALERT: handle_ux_alert,
    Action.REVIEW: handle_review,
    Action.SUPPRESS: handle_suppress,
}

__all__ = ["HANDLERS", "HandlerResult"]
