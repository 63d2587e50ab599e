"""Recovery writes: managing rules, deciding once per session what to do about a prediction, outcomes, review,
redeeming discount codes."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from classifier.labels import CLASSES, CODES
from classifier.models import Prediction, SessionLabel
from formrecap.models import FormSession, Site, Tenant

from .models import ActionExecution, DiscountCode, RecoveryRule, ReviewItem, TenantRecoverySettings, WebhookSecret
from .notices import SESSION_RECOVERED, SESSION_RETURNED, session_notices_enqueue
from .selectors import recovery_settings_get
from .ssrf import validate_webhook_url
from .stats import COOLDOWN_DECISION
from .tasks import executions_enqueue
from .webhooks import webhook_secret_create, webhook_secret_rotate

Action = RecoveryRule.Action
Status = ActionExecution.Status

BOT = CODES["bot"]
# Actions that reach the visitor or the tenant's systems: never for bots unless a rule says so explicitly.
OUTREACH_ACTIONS = frozenset({Action.EMAIL, Action.WEBHOOK, Action.DISCOUNT})

MAX_DELAY_SECONDS = 30 * 24 * 3600
MAX_COOLDOWN_SECONDS = 365 * 24 * 3600
MAX_PRIORITY = 10**9
MAX_PARAMS_BYTES = 8192
ROTATION_OVERLAP_SECONDS = 24 * 3600

# A rule's fields as the API and admin set them (site by id), with the defaults of a new rule.
RULE_DEFAULTS: dict = {
    "site_id": None,
    "name": "",
    "class_code": None,
    "custom_reason_id": None,
    "min_confidence": 0.0,
    "max_confidence": 1.0,
    "params": {},
    "delay_seconds": 0,
    "cooldown_seconds": 0,
    "priority": 100,
    "holdout_share": 0.0,
    "active": True,
}
RULE_FIELDS = ("action", *RULE_DEFAULTS)


# --- rules -------------------------------------------------------------------------------------------


def _check_unit(errors: dict, field: str, value) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        errors[field] = "must be a number between 0 and 1"


def _check_whole(errors: dict, field: str, value, low: int, high: int, unit: str = "") -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[field] = f"must be a whole number from {low} to {high}{unit}"


def rule_sends_webhooks(*, action: str, params: dict) -> bool:
    """Whether a rule POSTs to ``params.url`` (a webhook; a discount sent by webhook; a UX alert with a URL)."""
    return (
        action == Action.WEBHOOK
        or (action == Action.DISCOUNT and params.get("via") == "webhook")
        or (action == Action.UX_ALERT and params.get("url") not in (None, ""))
    )


def _is_whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _params_problem(action: str, params: dict) -> str | None:
    """What is wrong with an action's parameters (as its handler in recovery.handlers reads them), if anything."""
    if "allow_bots" in params and not isinstance(params["allow_bots"], bool):
        return "allow_bots must be true or false"
    if action == Action.DISCOUNT:
        amount = params.get("amount")
        if not isinstance(amount, str) or not amount.strip() or len(amount) > 32:
            return 'amount: a discount rule needs an amount, text of at most 32 characters, e.g. "10%"'
        if not _is_whole(params.get("valid_days", 14), 1, 365):
            return "valid_days must be a whole number of days from 1 to 365"
        if params.get("via", "email") not in ("email", "webhook"):
            return 'via must be "email" or "webhook"'
    if action == Action.UX_ALERT and not _is_whole(params.get("window_days", 7), 1, 90):
        return "window_days must be a whole number of days from 1 to 90"
    if rule_sends_webhooks(action=action, params=params):
        url = params.get("url")
        if not isinstance(url, str) or not url.strip():
            return "url: a webhook rule needs an https URL" if action == Action.WEBHOOK else "url: needs an https URL to POST to"
    return None


def _storable(value) -> bool:
    try:
        encoded = json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        return False
    return b"\\u0000" not in encoded


def _check_custom_reason(errors: dict, tenant: Tenant, values: dict) -> None:
    """A rule's custom reason is one of the tenant's (another tenant's reads as missing), under the rule's class."""
    from classifier.models import CustomReason

    reason_id = values.get("custom_reason_id")
    if reason_id is None:
        return
    reason = (
        CustomReason.objects.for_tenant(tenant).filter(pk=reason_id).first()
        if isinstance(reason_id, int) and 0 < reason_id < 2**63
        else None
    )
    if reason is None:
        errors["custom_reason"] = "not found"
    elif reason.parent_code is not None and values["class_code"] not in (None, reason.parent_code):
        errors["custom_reason"] = (
            f"{reason.name} splits class {reason.parent_code} ({reason.parent_label}); the rule's class_code is "
            f"{values['class_code']}"
        )


def recovery_rule_clean(*, tenant: Tenant, values: dict) -> dict:
    """A rule's complete field values (RULE_FIELDS) checked for ``tenant``; returns them normalised.

    Raises ValidationError with a message per field (API names: ``site``, not ``site_id``). The one place
    these rules live: the API and admin both come through here.
    """
    errors: dict[str, str] = {}
    values = dict(values)
    if not _storable(values.get("params")):
        # A lone surrogate or NUL cannot be stored (PostgreSQL jsonb) or rendered: refuse it here.
        errors["params"] = "contains invalid unicode (a lone surrogate or a NUL character)"
    site_id = values["site_id"]
    # Another tenant's site reads exactly like a missing one.
    if site_id is not None and (
        not isinstance(site_id, int) or not 0 < site_id < 2**63 or not Site.objects.for_tenant(tenant).filter(pk=site_id).exists()
    ):
        errors["site"] = "not found"
    if values["class_code"] is not None and values["class_code"] not in CLASSES:
        errors["class_code"] = "must be a class code 1-6, or null for any class"
    _check_custom_reason(errors, tenant, values)
    _check_unit(errors, "min_confidence", values["min_confidence"])
    _check_unit(errors, "max_confidence", values["max_confidence"])
    if not errors.keys() & {"min_confidence", "max_confidence"} and values["min_confidence"] > values["max_confidence"]:
        errors["max_confidence"] = "must be at least min_confidence"
    _check_unit(errors, "holdout_share", values["holdout_share"])
    _check_whole(errors, "delay_seconds", values["delay_seconds"], 0, MAX_DELAY_SECONDS, " (30 days)")
    _check_whole(errors, "cooldown_seconds", values["cooldown_seconds"], 0, MAX_COOLDOWN_SECONDS, " (365 days)")
    _check_whole(errors, "priority", values["priority"], -MAX_PRIORITY, MAX_PRIORITY)
    if not isinstance(values["name"], str) or len(values["name"]) > 200:
        errors["name"] = "must be text of at most 200 characters"
    if values["action"] not in Action.values:
        errors["action"] = f"unknown action {values['action']!r}; one of: {', '.join(Action.values)}"

    params = values["params"]
    if not isinstance(params, dict):
        errors["params"] = "must be a JSON object"
    elif len(json.dumps(params)) > MAX_PARAMS_BYTES:
        errors["params"] = f"must be at most {MAX_PARAMS_BYTES} bytes of JSON"
    else:
        problem = _params_problem(values["action"], params)
        if problem:
            errors["params"] = problem
        elif rule_sends_webhooks(action=values["action"], params=params):
            try:
                values["params"] = {**params, "url": validate_webhook_url(params["url"].strip())}
            except ValueError as exc:
                errors["params"] = f"url: {exc}"
    if errors:
        raise ValidationError({field: [message] for field, message in errors.items()})
    return values


@dataclass(frozen=True)
class RuleSaved:
    rule: RecoveryRule
    secret: str | None = None  # a new webhook signing secret (whsec_…): shown to the caller once, never again


def _first_secret_if_needed(rule: RecoveryRule) -> str | None:
    """A rule that sends webhooks gets a signing secret when it has none (on create, or when it starts sending them)."""
    if not rule_sends_webhooks(action=rule.action, params=rule.params):
        return None
    if WebhookSecret.objects.for_tenant(rule.tenant).filter(rule=rule).exists():
        return None
    return webhook_secret_create(rule=rule)


def recovery_rule_create(*, tenant: Tenant, action: str, **fields) -> RuleSaved:
    """A new rule from ``fields`` (RULE_FIELDS; missing ones take RULE_DEFAULTS); one that sends webhooks gets a secret."""
    unknown = fields.keys() - RULE_DEFAULTS.keys()
    if unknown:
        raise TypeError(f"unknown rule fields: {sorted(unknown)}")
    values = recovery_rule_clean(tenant=tenant, values={**RULE_DEFAULTS, **fields, "action": action})
    with transaction.atomic():
        rule = RecoveryRule.objects.create(tenant=tenant, **values)
        secret = _first_secret_if_needed(rule)
    return RuleSaved(rule=rule, secret=secret)


def recovery_rule_update(*, rule: RecoveryRule, **changes) -> RuleSaved:
    """Change some of a rule's fields. A new webhook URL re-enables an endpoint disabled for failing; a rule that
    starts sending webhooks gets its first signing secret (returned once)."""
    unknown = changes.keys() - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"unknown rule fields: {sorted(unknown)}")
    current = {field: getattr(rule, field) for field in RULE_FIELDS}
    values = recovery_rule_clean(tenant=rule.tenant, values={**current, **changes})
    changed = [field for field in RULE_FIELDS if values[field] != current[field]]
    for field in changed:
        setattr(rule, field, values[field])
    new_url = values["params"].get("url")
    if rule_sends_webhooks(action=values["action"], params=values["params"]) and new_url != current["params"].get("url"):
        rule.consecutive_failures, rule.disabled_at = 0, None
        changed += ["consecutive_failures", "disabled_at"]
    with transaction.atomic():
        if changed:
            rule.save(update_fields=changed)
        secret = _first_secret_if_needed(rule)
    return RuleSaved(rule=rule, secret=secret)


def recovery_rule_delete(*, rule: RecoveryRule) -> None:
    """Delete a rule; its executions stay in the log (with no rule), so nothing it did is sent again."""
    rule.delete()


def recovery_rule_rotate_secret(*, rule: RecoveryRule) -> str:
    """A new signing secret for a webhook rule, returned once; the previous ones stay valid for the overlap
    (ROTATION_OVERLAP_SECONDS), so receivers can switch without missing a delivery."""
    if not rule_sends_webhooks(action=rule.action, params=rule.params):
        raise ValidationError({"action": ["only rules that send webhooks have a signing secret"]})
    return webhook_secret_rotate(rule=rule, overlap_seconds=ROTATION_OVERLAP_SECONDS)


# --- the decision ------------------------------------------------------------------------------------


def holdout_draw(*, session_id: int, rule_id: int) -> float:
    """A uniform number in [0, 1) fixed by (session, rule): a redelivered decision draws the same."""
    digest = hashlib.sha256(f"formrecap-holdout:{session_id}:{rule_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _takes_bots(rule: RecoveryRule) -> bool:
    return rule.action not in OUTREACH_ACTIONS or (rule.class_code == BOT and rule.params.get("allow_bots") is True)


def recovery_rule_matching(
    *,
    tenant: Tenant,
    site_id: int,
    class_code: int,
    confidence: float,
    custom_reason_id: int | None = None,
    ux_alert: bool = False,
) -> RecoveryRule | None:
    """The rule that takes a (site, class, custom reason, confidence): active, highest priority first; at equal
    priority a rule for the session's custom reason before a rule for any, then the oldest.

    Per-visitor rules and UX alerts are matched apart (``ux_alert``): an alert is an aggregate signal about
    a field, so it runs beside the action that wins the session, never instead of it.
    """
    alerts = Q(action=Action.UX_ALERT)
    candidates = (
        RecoveryRule.objects.for_tenant(tenant)
        .filter(active=True, disabled_at__isnull=True, min_confidence__lte=confidence, max_confidence__gte=confidence)
        .filter(Q(site__isnull=True) | Q(site_id=site_id))
        .filter(Q(class_code__isnull=True) | Q(class_code=class_code))
        .filter(Q(custom_reason__isnull=True) | Q(custom_reason_id=custom_reason_id))
        .filter(alerts if ux_alert else ~alerts)
        .order_by("-priority", F("custom_reason_id").asc(nulls_last=True), "id")
    )
    for rule in candidates:
        if class_code != BOT or _takes_bots(rule):
            return rule
    return None


def _recent_execution_for_visitor(*, tenant: Tenant, rule: RecoveryRule, session: FormSession, now: datetime):
    """An action of this rule that reached (or will reach) this visitor within the rule's cooldown, if any."""
    if not rule.cooldown_seconds or not session.visitor_ref:
        return None
    return (
        ActionExecution.objects.for_tenant(tenant)
        .filter(
            rule=rule,
            session__visitor_ref=session.visitor_ref,
            status__in=[Status.SCHEDULED, Status.RUNNING, Status.SUCCEEDED],
            created_at__gte=now - timedelta(seconds=rule.cooldown_seconds),
        )
        .exclude(session=session)
        .order_by("-created_at")
        .first()
    )


def recovery_plan_session(*, tenant: Tenant, session_id: int) -> list[ActionExecution]:
    """Plan recovery for a session abandoned for good, from its final prediction (the ``recovery.plan_session``
    task, and its catch-up). Idempotent: a session is planned once; later calls return its plan."""
    prediction = (
        Prediction.objects.for_tenant(tenant).filter(session_id=session_id, final=True).order_by("-updated_at", "-pk").first()
    )
    if prediction is None:
        return []
    return recovery_plan_for_prediction(tenant=tenant, prediction_id=prediction.pk)


def recovery_plan_for_prediction(*, tenant: Tenant, prediction_id: int) -> list[ActionExecution]:
    """Decide what to do about an abandoned session's final prediction, once per session; returns its executions.

    The highest-priority matching per-visitor rule wins, and the best matching UX alert rule runs beside it.
    Then, for each, in order: a visitor inside the rule's cooldown is skipped (recorded); a deterministic share
    of the rest is held out as the control group (recorded, no action); the others are scheduled for delivery
    after the rule's delay. An uncalibrated prediction, or one no per-visitor rule takes, goes to the tenant's
    fallback (review queue, or nothing). A session already planned keeps its plan (a redelivery, a
    reclassification); a session submitted meanwhile, not abandoned for good, or whose visitor came back
    before the plan ran, gets nothing.
    """
    prediction = Prediction.objects.for_tenant(tenant).filter(pk=prediction_id, session__isnull=False, final=True).first()
    if prediction is None:
        return []
    with transaction.atomic():
        # Locks the session: plans of one session serialise; the unique idempotency key is the last word.
        session = FormSession.objects.for_tenant(tenant).select_for_update().get(pk=prediction.session_id)
        planned = list(ActionExecution.objects.for_tenant(tenant).filter(session=session).order_by("pk"))
        if planned or session.status != FormSession.Status.ABANDONED or session.planned_at is not None:
            return planned
        now = timezone.now()
        returned = session.returned_at is not None or _visitor_came_back(session)
        FormSession.objects.for_tenant(tenant).filter(pk=session.pk).update(
            planned_at=now, **({"returned_at": session.returned_at or now} if returned else {})
        )
        if returned:
            return []
        try:
            with transaction.atomic():
                executions = _plan_session(tenant=tenant, session=session, prediction=prediction)
        except IntegrityError:
            # Another planner got there first (a database without row locks): keep its plan.
            return list(ActionExecution.objects.for_tenant(tenant).filter(session=session).order_by("pk"))
        scheduled = [execution.pk for execution in executions if execution.status == Status.SCHEDULED]
        if scheduled:
            executions_enqueue(scheduled)  # delivered after this transaction commits
    return executions


def _visitor_came_back(session: FormSession) -> bool:
    """The visitor started another session on the site after this one's last event (another tab, a later visit)."""
    from formrecap.selectors import visitor_other_sessions

    return visitor_other_sessions(site=session.site, session=session).filter(started_at__gt=session.last_event_at).exists()


def _plan_session(*, tenant: Tenant, session: FormSession, prediction: Prediction) -> list[ActionExecution]:
    match = {
        "tenant": tenant,
        "site_id": session.site_id,
        "class_code": prediction.code,
        "confidence": prediction.confidence,
        "custom_reason_id": prediction.custom_reason_id,
    }
    rule = recovery_rule_matching(**match) if prediction.calibrated else None
    if rule is None:
        executions = _plan_fallback(tenant=tenant, session=session, prediction=prediction)
    else:
        executions = [_plan_rule(tenant=tenant, session=session, prediction=prediction, rule=rule)]
    alert_rule = recovery_rule_matching(**match, ux_alert=True) if prediction.calibrated else None
    if alert_rule is not None:
        executions.append(_plan_rule(tenant=tenant, session=session, prediction=prediction, rule=alert_rule))
    return executions


def _plan_rule(*, tenant: Tenant, session: FormSession, prediction: Prediction, rule: RecoveryRule) -> ActionExecution:
    now = timezone.now()
    fields = {
        "tenant": tenant,
        "session": session,
        "rule": rule,
        "prediction": prediction,
        "action": rule.action,
        "class_code": prediction.code,
        "confidence": prediction.confidence,
        "idempotency_key": f"{session.pk}:{rule.pk}",
    }
    recent = _recent_execution_for_visitor(tenant=tenant, rule=rule, session=session, now=now)
    if recent is not None:
        ago = int((now - recent.created_at).total_seconds())
        return ActionExecution.objects.create(
            **fields,
            status=Status.SKIPPED,
            run_after=now,
            finished_at=now,
            detail={
                "decision": COOLDOWN_DECISION,
                "reason": f"this visitor had this rule's action {ago} s ago (cooldown {rule.cooldown_seconds} s)",
                "previous_execution": recent.pk,
            },
        )
    draw = holdout_draw(session_id=session.pk, rule_id=rule.pk)
    if draw < rule.holdout_share:
        return ActionExecution.objects.create(
            **fields,
            status=Status.HOLDOUT,
            run_after=now,
            finished_at=now,
            detail={"decision": "holdout", "draw": round(draw, 6)},
        )
    return ActionExecution.objects.create(
        **fields, status=Status.SCHEDULED, run_after=now + timedelta(seconds=rule.delay_seconds), detail={"decision": "rule"}
    )


def _plan_fallback(*, tenant: Tenant, session: FormSession, prediction: Prediction) -> list[ActionExecution]:
    if recovery_settings_get(tenant=tenant).fallback == TenantRecoverySettings.Fallback.NOTHING:
        return []
    if not prediction.calibrated:
        reason = f"uncalibrated prediction: {prediction.label} at verbalized confidence {prediction.confidence:.2f}"
    else:
        reason = f"no rule takes {prediction.label} at confidence {prediction.confidence:.2f}"
    ReviewItem.objects.for_tenant(tenant).get_or_create(
        session=session, defaults={"tenant": tenant, "prediction": prediction, "reason": reason}
    )
    now = timezone.now()
    execution = ActionExecution.objects.create(
        tenant=tenant,
        session=session,
        rule=None,
        prediction=prediction,
        action=Action.REVIEW,
        class_code=prediction.code,
        confidence=prediction.confidence,
        status=Status.SUCCEEDED,
        run_after=now,
        finished_at=now,
        detail={"decision": "fallback", "reason": reason},
        idempotency_key=f"{session.pk}:fallback",
    )
    return [execution]


# --- outcomes and review -----------------------------------------------------------------------------


def executions_mark_recovered(
    *, tenant: Tenant, session_id: int, at: datetime | None = None, by_session_id: int | None = None
) -> int:
    """The session was submitted after all (itself, or the visitor's later session ``by_session_id`` within the
    attribution window, or its discount was redeemed): every execution of it, treated or held out, cancelled
    or not, is recovered. Returns how many."""
    executions = ActionExecution.objects.for_tenant(tenant).filter(session_id=session_id, recovered_at__isnull=True)
    recovered = executions.update(recovered_at=at or timezone.now(), recovered_by_session_id=by_session_id or session_id)
    if recovered:
        session_notices_enqueue(tenant=tenant, session_id=session_id, event=SESSION_RECOVERED)
    return recovered


def executions_cancel_for_return(*, tenant: Tenant, session_ids: list[int], reason: str) -> int:
    """The visitor came back: every execution of these sessions not yet started is cancelled, with the reason, and
    webhook receivers that were told of the abandonment are told of the return. Returns how many were cancelled."""
    now = timezone.now()
    cancelled = 0
    pending = ActionExecution.objects.for_tenant(tenant).filter(session_id__in=session_ids, status=Status.SCHEDULED)
    for pk, detail in pending.values_list("pk", "detail"):
        # Conditional on still scheduled: a delivery that claimed it first runs; the cancel then misses it.
        cancelled += (
            ActionExecution.objects.for_tenant(tenant)
            .filter(pk=pk, status=Status.SCHEDULED)
            .update(status=Status.CANCELLED, finished_at=now, detail={**detail, "cancelled": reason})
        )
    for session_id in session_ids:
        session_notices_enqueue(tenant=tenant, session_id=session_id, event=SESSION_RETURNED)
    return cancelled


def review_item_label(*, review_item: ReviewItem, code: int, labelled_by=None, note: str = "") -> SessionLabel:
    """Record an operator's verdict on a reviewed session (a SessionLabel, which feeds retraining)."""
    if code not in CLASSES:
        raise ValidationError({"code": ["must be a class code 1-6"]})
    tenant = review_item.tenant
    with transaction.atomic():
        label, _ = SessionLabel.objects.for_tenant(tenant).update_or_create(
            session_id=review_item.session_id,
            defaults={"tenant": tenant, "code": code, "labelled_by": labelled_by, "note": note},
        )
        review_item.reviewed_at = timezone.now()
        review_item.save(update_fields=["reviewed_at"])
    return label


# --- discount redemption -----------------------------------------------------------------------------


class DiscountRedeemError(Exception):
    """Why a discount code cannot be redeemed; the message is meant for the caller."""


class DiscountCodeNotFound(DiscountRedeemError):
    """No such code for this tenant (another tenant's code reads exactly the same)."""


class DiscountCodeExpired(DiscountRedeemError):
    pass


class DiscountCodeUsed(DiscountRedeemError):
    """Redeemed already, for another order."""


def _earlier_redemption(discount: DiscountCode, order_ref: str) -> DiscountCode:
    # The same order again (a retried checkout call) is the same redemption; another order is refused.
    if discount.order_ref != order_ref:
        raise DiscountCodeUsed("this discount code was already redeemed for another order")
    return discount


def discount_code_redeem(*, tenant: Tenant, code: str, order_ref: str) -> DiscountCode:
    """Redeem one of ``tenant``'s discount codes for an order, once; the session it was sent for is recovered.

    Redeeming it again for the same ``order_ref`` returns the first redemption unchanged (idempotent), even after
    the code expired; another order gets DiscountCodeUsed. An unknown code raises DiscountCodeNotFound, an expired
    one DiscountCodeExpired.
    """
    now = timezone.now()
    with transaction.atomic():
        # Locks the code: redemptions of one code serialise, so exactly one order gets it.
        discount = (
            DiscountCode.objects.for_tenant(tenant)
            .select_for_update(of=("self",))
            .select_related("execution")
            .filter(code=code)
            .first()
        )
        if discount is None:
            raise DiscountCodeNotFound("no such discount code")
        if discount.redeemed_at is not None:
            return _earlier_redemption(discount, order_ref)
        if discount.expires_at < now:
            raise DiscountCodeExpired(f"this discount code expired at {discount.expires_at.isoformat()}")
        # Conditional, as the last word where the database has no row locks (SQLite): the first redemption stands.
        redeemed = (
            DiscountCode.objects.for_tenant(tenant)
            .filter(pk=discount.pk, redeemed_at__isnull=True)
            .update(redeemed_at=now, order_ref=order_ref)
        )
        if not redeemed:
            discount.refresh_from_db(fields=["redeemed_at", "order_ref"])
            return _earlier_redemption(discount, order_ref)
        discount.redeemed_at, discount.order_ref = now, order_ref
        executions_mark_recovered(tenant=tenant, session_id=discount.execution.session_id, at=now)
    return discount
