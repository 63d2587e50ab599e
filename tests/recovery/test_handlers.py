"""Each action handler on its own, against real rows, the Django mail backend and a real local webhook receiver."""

import socket
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from classifier.labels import CLASSES
from recovery.delivery import execution_claim
from recovery.handlers import HANDLERS, HandlerResult
from recovery.handlers.base import execution_note
from recovery.handlers.discount import discount_code_for_execution
from recovery.handlers.email import NO_ADDRESS
from recovery.handlers.webhook import SUGGESTED_ACTIONS, event_payload
from recovery.models import DiscountCode, RecoveryRule, ReviewItem, TenantRecoverySettings, UxAlert
from tests.recovery.actions import EXPLANATION, Receiver, abandoned_session, receiving, rule_for, scheduled_execution

pytestmark = pytest.mark.django_db

VISITOR = "ada@example.com"


def claimed(session, rule):
    """A scheduled execution of ``rule`` for ``session``, claimed as a delivery would (running, attempt 1)."""
    execution = scheduled_execution(session, rule)
    return execution_claim(execution_id=execution.pk, claim="test-delivery:0")


def run(session, rule) -> tuple[HandlerResult, object]:
    execution = claimed(session, rule)
    return HANDLERS[execution.action](execution), execution


@pytest.fixture
def loopback(settings):
    settings.DEBUG = True
    settings.FORMRECAP_WEBHOOK_ALLOW_LOOPBACK = True


@pytest.fixture
def receiver_for(loopback):
    """Start a receiver holding a rule's secret: ``receiver_for(secret, statuses=[...])``."""
    started = []

    def start(secret, **options) -> Receiver:
        context = receiving(Receiver(secret, **options))
        started.append(context)
        return context.__enter__()

    yield start
    for context in started:
        context.__exit__(None, None, None)


def test_every_action_has_a_handler():
    assert set(HANDLERS) == set(RecoveryRule.Action.values)


# --- email ---------------------------------------------------------------------------------------------


def test_email_renders_the_class_template_with_the_resume_link(site):
    rule, _ = rule_for(site, "email", params={"resume_url": "https://shop.example.com/signup?resume=1"})
    session = abandoned_session(site, visitor_ref=VISITOR, code=2)

    result, execution = run(session, rule)

    assert result.status == "succeeded"
    [message] = mail.outbox
    assert message.to == [VISITOR]
    assert message.subject == f"You were almost done on {site.name}"
    assert "https://shop.example.com/signup?resume=1" in message.body
    assert message.extra_headers["Message-ID"] == f"<recovery.{session.pk}.{rule.pk}@formrecap.local>"
    assert result.detail == {"to": VISITOR, "subject": message.subject}
    assert execution.detail["delivery"]["email"] == "sent"


@pytest.mark.parametrize("code", sorted(CLASSES))
def test_every_class_has_its_own_email(site, code):
    rule, _ = rule_for(site, "email")
    result, _ = run(abandoned_session(site, visitor_ref=VISITOR, code=code), rule)

    assert result.status == "succeeded"
    [message] = mail.outbox
    assert site.name in message.subject and "{" not in message.subject + message.body
    assert "http" not in message.body  # no resume_url in the rule: no link


def test_site_names_are_not_html_escaped_in_a_text_email(site):
    site.name = "Tom & Jerry's"
    site.save()
    rule, _ = rule_for(site, "email")
    run(abandoned_session(site, visitor_ref=VISITOR, code=4), rule)
    assert mail.outbox[0].subject == "Pick up where you left off on Tom & Jerry's"


@pytest.mark.parametrize("visitor_ref", ["", "customer-1842", "ada@", "not an@address.com"])
def test_email_without_an_address_is_skipped_with_the_reason(site, visitor_ref):
    rule, _ = rule_for(site, "email")
    result, _ = run(abandoned_session(site, visitor_ref=visitor_ref), rule)

    assert result == HandlerResult("skipped", {"reason": NO_ADDRESS})
    assert mail.outbox == []


def test_email_to_a_visitor_who_submitted_meanwhile_is_skipped(site):
    rule, _ = rule_for(site, "email")
    session = abandoned_session(site, visitor_ref=VISITOR)
    execution = claimed(session, rule)
    execution.session.status = "submitted"

    result = HANDLERS["email"](execution)

    assert result.status == "skipped" and "submitted" in result.detail["reason"]
    assert mail.outbox == []


def test_an_email_an_earlier_attempt_was_sending_is_not_sent_again(site):
    rule, _ = rule_for(site, "email")
    execution = claimed(abandoned_session(site, visitor_ref=VISITOR), rule)
    execution_note(execution, email="sending")  # the worker died after this mark, maybe after sending

    result = HANDLERS["email"](execution)

    assert result.status == "failed" and not result.retryable
    assert "not sent again" in result.detail["error"]
    assert mail.outbox == []


def test_a_mail_server_that_refuses_connections_is_a_retryable_failure_that_clears_the_mark(site, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    rule, _ = rule_for(site, "email")
    execution = claimed(abandoned_session(site, visitor_ref=VISITOR), rule)

    result = HANDLERS["email"](execution)

    assert result.status == "failed" and result.retryable
    assert "mail server unavailable" in result.detail["error"]
    assert "email" not in execution.detail["delivery"]  # nothing left: the next attempt may send


# --- webhook -------------------------------------------------------------------------------------------


def test_webhook_posts_the_signed_abandonment_with_the_idempotency_key_as_webhook_id(site, receiver_for):
    rule, secret = rule_for(site, "webhook", with_secret=True)
    receiver = receiver_for(secret)
    rule.params = {"url": receiver.url}
    rule.save()
    session = abandoned_session(site, visitor_ref="customer-1842", code=3)

    result, execution = run(session, rule)

    assert result.status == "succeeded" and result.endpoint_delivered is True
    [request] = receiver.requests
    assert request.verified is True  # checked by the standardwebhooks library
    assert request.webhook_id == execution.idempotency_key == f"{session.pk}:{rule.pk}"
    assert request.payload == {
        "type": "session.abandoned",
        "timestamp": session.abandoned_at.astimezone(UTC).isoformat(),
        "data": {
            "session": {
                "id": session.pk,
                "uuid": str(session.session_uuid),
                "site": site.pk,
                "form_id": "signup",
                "path": "/signup",
                "visitor_ref": "customer-1842",
            },
            "class": "comparison_shopping",
            "code": 3,
            "probabilities": execution.prediction.probabilities,
            "confidence": 0.9,
            "explanation": EXPLANATION,
            "suggested_action": SUGGESTED_ACTIONS[3],
            "idempotency_key": execution.idempotency_key,
            "rule": rule.pk,
        },
    }
    assert result.detail == {"url": receiver.url, "webhook_id": execution.idempotency_key, "status_code": 200}


def test_event_payload_has_the_standard_webhooks_shape():
    at = datetime(2025, 3, 1, 12, 30, 5, 120000, tzinfo=timezone.get_fixed_timezone(60))
    assert event_payload(type="session.returned", timestamp=at, data={"session": {"id": 7}}) == {
        "type": "session.returned",
        "timestamp": "2025-03-01T11:30:05.120000+00:00",
        "data": {"session": {"id": 7}},
    }


def test_webhook_timestamp_is_fixed_across_attempts_and_falls_back_to_the_decision_time(site, receiver_for):
    rule, secret = rule_for(site, "webhook", with_secret=True)
    receiver = receiver_for(secret, statuses=[503])
    rule.params = {"url": receiver.url}
    rule.save()
    execution = claimed(abandoned_session(site, abandoned_at=None), rule)

    first = HANDLERS["webhook"](execution)
    second = HANDLERS["webhook"](execution)  # another attempt of the same execution

    assert (first.status, second.status) == ("failed", "succeeded")
    one, two = receiver.requests
    assert one.payload == two.payload and one.webhook_id == two.webhook_id
    assert one.payload["timestamp"] == execution.created_at.astimezone(UTC).isoformat()


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (500, True), (429, True), (400, False), (410, False)])
def test_webhook_errors_are_retryable_for_5xx_and_429_only(site, receiver_for, status, retryable):
    rule, secret = rule_for(site, "webhook", with_secret=True)
    rule.params = {"url": receiver_for(secret, statuses=[status]).url}
    rule.save()

    result, _ = run(abandoned_session(site), rule)

    assert (result.status, result.retryable, result.endpoint_delivered) == ("failed", retryable, False)
    assert result.detail["status_code"] == status and result.detail["error"] == f"HTTP {status}"


def test_webhook_of_a_disabled_endpoint_is_skipped_without_a_request(site, receiver_for):
    rule, secret = rule_for(site, "webhook", with_secret=True, consecutive_failures=10, disabled_at=timezone.now())
    receiver = receiver_for(secret)
    rule.params = {"url": receiver.url}
    rule.save()

    result, _ = run(abandoned_session(site), rule)

    assert result.status == "skipped" and "disabled" in result.detail["reason"]
    assert result.endpoint_delivered is None
    assert receiver.requests == []


def test_webhook_to_a_private_address_is_refused_and_not_retried(site):
    rule, _ = rule_for(site, "webhook", with_secret=True, params={"url": "https://10.0.0.7/hook"})
    result, _ = run(abandoned_session(site), rule)
    assert (result.status, result.retryable) == ("failed", False)
    assert result.detail["error"].startswith("refused")


# --- discount ------------------------------------------------------------------------------------------


def test_discount_stores_a_single_use_code_and_emails_it(site):
    rule, _ = rule_for(site, "discount", params={"amount": "10%", "valid_days": 3, "resume_url": "https://shop.example.com/c"})
    session = abandoned_session(site, visitor_ref=VISITOR, code=3)

    result, execution = run(session, rule)

    assert result.status == "succeeded"
    code = DiscountCode.all_tenants.get(execution=execution)
    assert code.code.startswith("FR-") and len(code.code) == 15 and code.redeemed_at is None
    assert code.amount == "10%" and code.tenant == site.tenant
    assert timedelta(days=3) - timedelta(minutes=1) < code.expires_at - timezone.now() <= timedelta(days=3)
    [message] = mail.outbox
    assert code.code in message.body and "10%" in message.subject and "https://shop.example.com/c" in message.body
    assert result.detail["discount"] == {"code": code.code, "amount": "10%", "expires_at": code.expires_at.isoformat()}
    assert result.detail["via"] == "email"


def test_discount_code_is_created_once_per_execution(site):
    rule, _ = rule_for(site, "discount", params={"amount": "5.00 EUR"})
    execution = claimed(abandoned_session(site, visitor_ref=VISITOR), rule)

    first = discount_code_for_execution(execution=execution, amount="5.00 EUR", valid_days=7)
    again = discount_code_for_execution(execution=execution, amount="5.00 EUR", valid_days=7)

    assert first.pk == again.pk and DiscountCode.all_tenants.count() == 1


def test_discount_codes_are_unique(site):
    rule, _ = rule_for(site, "discount", params={"amount": "10%"})
    for _ in range(30):
        run(abandoned_session(site, visitor_ref=VISITOR), rule)
    codes = list(DiscountCode.all_tenants.values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 30


def test_discount_by_webhook_sends_the_code_in_the_signed_payload(site, receiver_for):
    rule, secret = rule_for(site, "discount", with_secret=True)
    receiver = receiver_for(secret)
    rule.params = {"amount": "15%", "via": "webhook", "url": receiver.url}
    rule.save()

    result, execution = run(abandoned_session(site), rule)

    assert result.status == "succeeded" and result.endpoint_delivered is True
    [request] = receiver.requests
    code = DiscountCode.all_tenants.get(execution=execution)
    assert request.verified and request.payload["type"] == "discount.issued"
    assert request.payload["timestamp"] == execution.session.abandoned_at.astimezone(UTC).isoformat()
    data = request.payload["data"]
    assert data["discount"] == {"code": code.code, "amount": "15%", "expires_at": code.expires_at.isoformat()}
    assert data["session"]["id"] == execution.session_id and data["idempotency_key"] == execution.idempotency_key
    assert mail.outbox == []


def test_discount_by_email_without_an_address_is_skipped_and_creates_no_code(site):
    rule, _ = rule_for(site, "discount", params={"amount": "10%"})
    result, _ = run(abandoned_session(site, visitor_ref="customer-7"), rule)
    assert result == HandlerResult("skipped", {"reason": NO_ADDRESS})
    assert DiscountCode.all_tenants.count() == 0


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "params.amount"),
        ({"amount": "10%", "valid_days": 0}, "params.valid_days"),
        ({"amount": "1", "via": "sms"}, "params.via"),
    ],
)
def test_discount_with_bad_params_fails_with_the_problem(site, params, problem):
    rule, _ = rule_for(site, "discount", params=params)
    result, _ = run(abandoned_session(site, visitor_ref=VISITOR), rule)
    assert result.status == "failed" and not result.retryable and result.detail["error"].startswith(problem)


# --- ux_alert ------------------------------------------------------------------------------------------


def failing(field: str, reason: str, times: int = 2) -> list[dict]:
    events = [{"type": "focus", "field": "email", "ts": 0}, {"type": "blur", "field": "email", "ts": 100}]
    for i in range(times):
        ts = 200 + i * 300
        events += [
            {"type": "focus", "field": field, "ts": ts},
            {"type": "blur", "field": field, "ts": ts + 100, "validation": reason},
        ]
    return [*events, {"type": "exit", "ts": 5000}]


@pytest.fixture
def alert_settings(tenant):
    return TenantRecoverySettings.all_tenants.create(tenant=tenant, ux_alert_threshold=0.3, ux_alert_min_sessions=5)


def sessions_of(site, count: int, **kwargs) -> list:
    return [abandoned_session(site, **kwargs) for _ in range(count)]


def test_ux_alert_opens_when_a_field_crosses_the_threshold(site, alert_settings):
    rule, _ = rule_for(site, "ux_alert", class_code=1)
    sessions_of(site, 3, events=failing("password", "too_short"), code=1)
    sessions_of(site, 1, events=failing("postcode", "invalid_format"), code=1)
    sessions_of(site, 4, code=2)  # other abandonments of the site count in the denominator
    sessions_of(site, 1, events=failing("password", "too_short"), code=1, abandoned_at=timezone.now() - timedelta(days=8))
    trigger = abandoned_session(site, events=failing("password", "mismatch", times=3), code=1)

    result, _ = run(trigger, rule)

    alert = UxAlert.all_tenants.get()
    assert (alert.site, alert.field, alert.rule, alert.resolved_at) == (site, "password", rule, None)
    # 4 validation abandonments on password (3 + the trigger) out of 9 abandoned sessions in the last 7 days
    assert (alert.validation_abandonments, alert.sessions, alert.rate, alert.reason) == (4, 9, 0.4444, "too_short")
    assert result.status == "succeeded"
    assert result.detail["alert"] == alert.pk and result.detail["opened"] is True


def test_ux_alert_keeps_one_open_alert_per_site_and_field(site, alert_settings):
    rule, _ = rule_for(site, "ux_alert", class_code=1)
    sessions_of(site, 5, events=failing("password", "too_short"), code=1)

    first, _ = run(abandoned_session(site, events=failing("password", "too_short"), code=1), rule)
    second, _ = run(abandoned_session(site, events=failing("password", "too_short"), code=1), rule)

    alert = UxAlert.all_tenants.get()
    assert first.detail["opened"] is True and second.detail["opened"] is False
    assert (alert.sessions, alert.validation_abandonments) == (7, 7)


def test_ux_alert_below_the_minimum_sessions_is_skipped(site, alert_settings):
    rule, _ = rule_for(site, "ux_alert")
    result, _ = run(abandoned_session(site, events=failing("password", "too_short"), code=1), rule)
    assert result.status == "skipped" and result.detail["sessions"] == 1 and result.detail["rate"] == 1.0
    assert not UxAlert.all_tenants.exists()


def test_ux_alert_below_the_threshold_is_skipped(site, alert_settings):
    rule, _ = rule_for(site, "ux_alert")
    sessions_of(site, 9, code=2)
    result, _ = run(abandoned_session(site, events=failing("password", "too_short"), code=1), rule)
    assert result.status == "skipped" and result.detail["rate"] == 0.1
    assert not UxAlert.all_tenants.exists()


def test_ux_alert_for_a_session_without_a_failing_field_is_skipped(site, alert_settings):
    rule, _ = rule_for(site, "ux_alert")
    result, _ = run(abandoned_session(site, events=[{"type": "focus", "field": "email", "ts": 0}], code=1), rule)
    assert result == HandlerResult("skipped", {"reason": "no field failed validation in this session"})


def test_ux_alert_is_sent_to_the_rules_url_when_it_opens(site, alert_settings, receiver_for):
    rule, secret = rule_for(site, "ux_alert", with_secret=True)
    receiver = receiver_for(secret)
    rule.params = {"url": receiver.url}
    rule.save()
    sessions_of(site, 5, events=failing("card_number", "invalid_luhn"), code=1)

    opened, execution = run(abandoned_session(site, events=failing("card_number", "invalid_luhn"), code=1), rule)
    updated, _ = run(abandoned_session(site, events=failing("card_number", "invalid_luhn"), code=1), rule)

    [request] = receiver.requests  # only the execution that opened the alert sends it
    alert = UxAlert.all_tenants.get()
    assert request.verified and request.webhook_id == execution.idempotency_key
    assert request.payload["type"] == "ux_alert.opened"
    assert request.payload["timestamp"] == alert.created_at.astimezone(UTC).isoformat()
    assert request.payload["data"]["rule"] == rule.pk
    assert request.payload["data"]["alert"] == {
        "id": alert.pk,
        "site": site.pk,
        "field": "card_number",
        "sessions": 6,
        "validation_abandonments": 6,
        "rate": 1.0,
        "reason": "invalid_luhn",
    }
    assert opened.endpoint_delivered is True and updated.endpoint_delivered is None


# --- review and suppress -------------------------------------------------------------------------------


def test_review_puts_the_session_in_the_queue_once(site):
    rule, _ = rule_for(site, "review", class_code=6)
    other, _ = rule_for(site, "review", params={"reason": "second opinion"})
    session = abandoned_session(site, code=6)

    result, execution = run(session, rule)
    again, _ = run(session, other)

    item = ReviewItem.all_tenants.get()
    assert (item.session, item.tenant, item.prediction, item.reviewed_at) == (session, site.tenant, execution.prediction, None)
    assert item.reason == f"rule {rule.pk}: committed_leave at confidence 0.90"
    assert result.detail == {"review_item": item.pk, "created": True}
    assert again.detail == {"review_item": item.pk, "created": False}


def test_suppress_records_that_nothing_was_done(site):
    rule, _ = rule_for(site, "suppress", class_code=5, params={"reason": "bots are ignored"})
    result, _ = run(abandoned_session(site, code=5), rule)
    assert result == HandlerResult("succeeded", {"suppressed": True, "reason": "bots are ignored"})
    assert mail.outbox == []
