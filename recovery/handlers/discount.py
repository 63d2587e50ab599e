"""``discount``: a unique single-use code (amount and validity from the rule), stored, then sent by email or webhook.

The code is stored (committed) before it is sent and belongs to the execution (one-to-one), so a later attempt
sends the same code again rather than a second one; the sending itself is at most once as for email and webhook.
"""

import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import ActionExecution, DiscountCode
from .base import FAILED, HandlerResult, rule_params, skipped
from .email import email_context, email_send_once, outreach_skip_reason, render_email
from .webhook import abandonment_data, abandonment_timestamp, event_payload, webhook_send

EVENT_DISCOUNT = "discount.issued"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read and typed by people
CODE_LENGTH = 12  # 32^12 ≈ 1.2e18 codes
DEFAULT_VALID_DAYS = 14


def new_code() -> str:
    return "FR-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def discount_code_for_execution(*, execution: ActionExecution, amount: str, valid_days: int) -> DiscountCode:
    """The execution's code, created on the first attempt; later attempts get the same one."""
    existing = DiscountCode.objects.for_tenant(execution.tenant).filter(execution=execution).first()
    if existing is not None:
        return existing
    expires_at = timezone.now() + timedelta(days=valid_days)
    while True:
        try:
            with transaction.atomic():
                return DiscountCode.objects.create(
                    tenant=execution.tenant, execution=execution, code=new_code(), amount=amount, expires_at=expires_at
                )
        except IntegrityError:
            # The same code already exists (one chance in 10^18): draw another. An existing row for this
            # execution cannot be the cause: only this attempt's owner creates it.
            continue


def _params(execution: ActionExecution) -> tuple[str, int, str] | str:
    """(amount, valid days, via) from the rule, or what is wrong with them."""
    params = rule_params(execution)
    amount, valid_days, via = params.get("amount"), params.get("valid_days", DEFAULT_VALID_DAYS), params.get("via", "email")
    if not isinstance(amount, str) or not amount.strip() or len(amount) > 32:
        return 'params.amount must be text of at most 32 characters, e.g. "10%"'
    if not isinstance(valid_days, int) or isinstance(valid_days, bool) or not 1 <= valid_days <= 365:
        return "params.valid_days must be a whole number of days from 1 to 365"
    if via not in ("email", "webhook"):
        return 'params.via must be "email" or "webhook"'
    return amount.strip(), valid_days, via


def handle_discount(execution: ActionExecution) -> HandlerResult:
    params = _params(execution)
    if isinstance(params, str):
        return HandlerResult(FAILED, {"error": params})
    amount, valid_days, via = params
    if via == "email":
        reason = outreach_skip_reason(execution)
        if reason:
            return skipped(reason)
    code = discount_code_for_execution(execution=execution, amount=amount, valid_days=valid_days)
    discount = {"code": code.code, "amount": code.amount, "expires_at": code.expires_at.isoformat()}
    if via == "webhook":
        # The abandonment it answers, with the code; timestamped like it, so every attempt sends the same bytes.
        payload = event_payload(
            type=EVENT_DISCOUNT,
            timestamp=abandonment_timestamp(execution),
            data={**abandonment_data(execution), "discount": discount},
        )
        result = webhook_send(execution, payload)
    else:
        subject, body = render_email("discount", {**email_context(execution), "discount": code})
        result = email_send_once(execution, subject=subject, body=body)
    return HandlerResult(
        result.status, {**result.detail, "via": via, "discount": discount}, result.retryable, result.endpoint_delivered
    )
