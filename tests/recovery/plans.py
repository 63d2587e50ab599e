"""Abandoned sessions with stored predictions, and rules, for the recovery policy tests (real rows)."""

from datetime import timedelta

from django.utils import timezone

from classifier.models import Prediction
from formrecap.models import FormSession, Site
from recovery.models import ActionExecution, RecoveryRule
from recovery.services import recovery_plan_for_prediction, recovery_rule_create
from tests.factories import FormSessionFactory

# A public address literal: validate_webhook_url accepts it without a DNS lookup (tests run offline).
PUBLIC_HOOK = "https://93.184.216.34/formrecap-hook"


def probabilities(code: int, confidence: float) -> dict[str, float]:
    rest = (1 - confidence) / 5
    return {str(c): (confidence if c == code else rest) for c in range(1, 7)}


def predicted_session(
    site: Site, code: int = 2, confidence: float = 0.9, *, calibrated: bool = True, visitor_ref: str = "", **fields
) -> Prediction:
    """An abandoned session of ``site`` and its stored prediction."""
    session = FormSessionFactory(site=site, status=FormSession.Status.ABANDONED, visitor_ref=visitor_ref, **fields)
    return prediction_for(session, code, confidence, calibrated=calibrated)


def prediction_for(session: FormSession, code: int, confidence: float, *, calibrated: bool = True) -> Prediction:
    return Prediction.all_tenants.create(
        tenant=session.tenant,
        session=session,
        source=Prediction.Source.SESSION,
        backend="embedded",
        code=code,
        probabilities=probabilities(code, confidence),
        confidence=confidence,
        calibrated=calibrated,
        latency_ms=1.0,
        events_seen=session.event_count,
    )


def make_rule(tenant, action: str = "suppress", **fields) -> RecoveryRule:
    return recovery_rule_create(tenant=tenant, action=action, **fields).rule


def plan(prediction: Prediction) -> list[ActionExecution]:
    return recovery_plan_for_prediction(tenant=prediction.tenant, prediction_id=prediction.pk)


def execution_row(
    rule: RecoveryRule, session: FormSession, status: str, *, recovered: bool = False, class_code: int = 2, **fields
):
    """An execution as the decision and delivery leave it (unsaved), for bulk_create."""
    now = timezone.now()
    return ActionExecution(
        tenant=session.tenant,
        session=session,
        rule=rule,
        action=rule.action if rule else "review",
        class_code=class_code,
        confidence=0.9,
        status=status,
        run_after=now,
        idempotency_key=f"{session.pk}:{rule.pk if rule else 'fallback'}",
        recovered_at=now + timedelta(hours=1) if recovered else None,
        **fields,
    )
