"""The recovery decision: which rule takes a prediction (priority, thresholds, site, class, bots), the fallback,
holdout, cooldown, and that a session is planned once whatever the redeliveries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from classifier.models import Prediction
from classifier.services import prediction_for_session
from formrecap.models import FormSession
from recovery.models import ActionExecution, RecoveryRule, ReviewItem, TenantRecoverySettings
from recovery.services import holdout_draw, recovery_plan_for_prediction
from tests.classifier.helpers import recorded_session
from tests.factories import FormSessionFactory, SiteFactory
from tests.recovery.plans import PUBLIC_HOOK, make_rule, plan, predicted_session, prediction_for

pytestmark = pytest.mark.django_db

BOT = 5


def only(executions: list[ActionExecution]) -> ActionExecution:
    assert len(executions) == 1, executions
    return executions[0]


# --- which rule wins ---------------------------------------------------------------------------------


def test_the_highest_priority_matching_rule_wins(site):
    make_rule(site.tenant, priority=10, name="low")
    high = make_rule(site.tenant, priority=50, name="high")
    make_rule(site.tenant, priority=90, class_code=3, name="other class")
    make_rule(site.tenant, priority=99, active=False, name="inactive")

    execution = only(plan(predicted_session(site, code=2)))

    assert execution.rule == high
    assert (execution.action, execution.class_code, execution.confidence, execution.status) == ("suppress", 2, 0.9, "scheduled")


def test_equal_priorities_go_to_the_oldest_rule(site):
    first = make_rule(site.tenant, priority=10)
    make_rule(site.tenant, priority=10)
    assert only(plan(predicted_session(site))).rule == first


@pytest.mark.parametrize(
    ("confidence", "taken"),
    [(0.6, True), (0.8, True), (0.7, True), (0.5999, False), (0.8001, False)],
)
def test_confidence_thresholds_include_both_bounds(site, confidence, taken):
    band = make_rule(site.tenant, min_confidence=0.6, max_confidence=0.8)
    executions = plan(predicted_session(site, confidence=confidence))
    assert (only(executions).rule == band) is taken
    if not taken:  # the default fallback: the review queue
        assert only(executions).rule is None


def test_a_site_specific_rule_applies_to_its_site_only(site):
    other_site_same_tenant = SiteFactory(tenant=site.tenant)
    any_site = make_rule(site.tenant, priority=10)
    here = make_rule(site.tenant, site_id=site.pk, priority=50)
    make_rule(site.tenant, site_id=other_site_same_tenant.pk, priority=90)

    assert only(plan(predicted_session(site))).rule == here
    assert only(plan(predicted_session(other_site_same_tenant))).rule.priority == 90
    third = SiteFactory(tenant=site.tenant)
    assert only(plan(predicted_session(third))).rule == any_site


def test_a_class_rule_takes_only_its_class_and_null_takes_any(site):
    distraction = make_rule(site.tenant, class_code=2, priority=50)
    anything = make_rule(site.tenant, class_code=None, priority=10)
    assert only(plan(predicted_session(site, code=2))).rule == distraction
    assert only(plan(predicted_session(site, code=4))).rule == anything


def test_another_tenants_rules_never_apply(site, other_site):
    make_rule(other_site.tenant, priority=1000)
    assert only(plan(predicted_session(site))).rule is None  # fallback


def test_a_disabled_webhook_endpoint_takes_nothing(site):
    hook = make_rule(site.tenant, action="webhook", params={"url": PUBLIC_HOOK}, priority=50)
    email = make_rule(site.tenant, action="email", priority=10)
    RecoveryRule.all_tenants.filter(pk=hook.pk).update(disabled_at=timezone.now(), consecutive_failures=10)
    assert only(plan(predicted_session(site))).rule == email


# --- fallback ----------------------------------------------------------------------------------------


def test_no_matching_rule_goes_to_the_review_queue_by_default(site):
    make_rule(site.tenant, min_confidence=0.95)
    prediction = predicted_session(site, code=3, confidence=0.5)

    execution = only(plan(prediction))

    assert (execution.rule, execution.action, execution.status) == (None, "review", "succeeded")
    assert execution.idempotency_key == f"{prediction.session_id}:fallback"
    item = ReviewItem.objects.for_tenant(site.tenant).get()
    assert (item.session_id, item.prediction, item.reviewed_at) == (prediction.session_id, prediction, None)
    assert item.reason == "no rule takes comparison_shopping at confidence 0.50"


def test_fallback_nothing_records_nothing(site):
    TenantRecoverySettings.all_tenants.create(tenant=site.tenant, fallback="nothing")
    assert plan(predicted_session(site)) == []
    assert not ActionExecution.objects.for_tenant(site.tenant).exists()
    assert not ReviewItem.objects.for_tenant(site.tenant).exists()


def test_an_uncalibrated_prediction_goes_to_the_fallback_even_when_a_rule_matches(site):
    make_rule(site.tenant, action="email")
    execution = only(plan(predicted_session(site, confidence=0.99, calibrated=False)))
    assert (execution.rule, execution.action) == (None, "review")
    assert ReviewItem.objects.for_tenant(site.tenant).get().reason.startswith("uncalibrated prediction")


def test_another_tenants_fallback_setting_does_not_apply(site, other_tenant):
    TenantRecoverySettings.all_tenants.create(tenant=other_tenant, fallback="nothing")
    assert only(plan(predicted_session(site))).action == "review"


# --- bots ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["email", "webhook", "discount"])
def test_bots_get_no_outreach_from_an_any_class_rule(site, action):
    params = {"webhook": {"url": PUBLIC_HOOK}, "discount": {"amount": "10%"}}.get(action, {})
    make_rule(site.tenant, action=action, params=params)
    execution = only(plan(predicted_session(site, code=BOT, confidence=0.99)))
    assert execution.rule is None  # fallback


def test_bots_get_no_outreach_even_from_a_bot_rule_without_allow_bots(site):
    make_rule(site.tenant, action="email", class_code=BOT, params={"allow_bots": False})
    assert only(plan(predicted_session(site, code=BOT))).rule is None


def test_a_bot_rule_with_allow_bots_reaches_bots(site):
    hook = make_rule(site.tenant, action="webhook", class_code=BOT, params={"url": PUBLIC_HOOK, "allow_bots": True})
    assert only(plan(predicted_session(site, code=BOT))).rule == hook


def test_allow_bots_on_an_any_class_rule_is_not_enough(site):
    make_rule(site.tenant, action="email", params={"allow_bots": True})
    assert only(plan(predicted_session(site, code=BOT))).rule is None


def test_bots_fall_through_outreach_to_a_lower_priority_suppress_rule(site):
    make_rule(site.tenant, action="email", priority=90)
    suppress = make_rule(site.tenant, action="suppress", priority=10)
    assert only(plan(predicted_session(site, code=BOT))).rule == suppress
    assert only(plan(predicted_session(site, code=2))).rule.action == "email"  # humans still get the email


# --- holdout ------------------------------------------------------------------------------------------


def test_holdout_keeps_its_share_of_matching_sessions(site):
    rule = make_rule(site.tenant, action="email", holdout_share=0.3)
    sessions = FormSession.all_tenants.bulk_create(FormSessionFactory.build_batch(2000, site=site, status="abandoned"))
    predictions = Prediction.all_tenants.bulk_create(
        [
            Prediction(
                tenant=site.tenant,
                session=s,
                source="session",
                backend="embedded",
                code=2,
                probabilities={},
                confidence=0.9,
                calibrated=True,
                latency_ms=1,
            )
            for s in sessions
        ]
    )

    statuses = [only(plan(prediction)).status for prediction in predictions]

    held_out = statuses.count("holdout") / len(statuses)
    assert held_out == pytest.approx(0.3, abs=0.04)
    assert set(statuses) == {"holdout", "scheduled"}
    # The draw is a pure function of (session, rule): the same sessions are held out again, whoever asks.
    expected = ["holdout" if holdout_draw(session_id=s.pk, rule_id=rule.pk) < 0.3 else "scheduled" for s in sessions]
    assert statuses == expected
    holdout = ActionExecution.objects.for_tenant(site.tenant).filter(status="holdout").first()
    assert holdout.detail["decision"] == "holdout" and holdout.finished_at is not None


def test_holdout_draw_is_uniform_and_deterministic():
    draws = [holdout_draw(session_id=s, rule_id=7) for s in range(20000)]
    assert draws == [holdout_draw(session_id=s, rule_id=7) for s in range(20000)]
    assert all(0 <= d < 1 for d in draws)
    for edge in (0.1, 0.3, 0.5, 0.9):
        assert sum(d < edge for d in draws) / len(draws) == pytest.approx(edge, abs=0.015)
    # Another rule draws independently: not the same sessions held out everywhere.
    other = [holdout_draw(session_id=s, rule_id=8) < 0.3 for s in range(20000)]
    both = sum(a < 0.3 and b for a, b in zip(draws, other, strict=True)) / len(draws)
    assert both == pytest.approx(0.09, abs=0.015)


@pytest.mark.parametrize(("share", "status"), [(0.0, "scheduled"), (1.0, "holdout")])
def test_holdout_share_zero_and_one(site, share, status):
    make_rule(site.tenant, holdout_share=share)
    assert {only(plan(predicted_session(site))).status for _ in range(20)} == {status}


# --- cooldown and delay ---------------------------------------------------------------------------------


def test_cooldown_skips_a_visitor_who_just_had_this_rules_action(site):
    rule = make_rule(site.tenant, action="email", cooldown_seconds=3600)
    first = only(plan(predicted_session(site, visitor_ref="ann@example.com")))
    second = only(plan(predicted_session(site, visitor_ref="ann@example.com")))
    someone_else = only(plan(predicted_session(site, visitor_ref="bob@example.com")))

    assert (first.status, someone_else.status) == ("scheduled", "scheduled")
    assert (second.rule, second.status) == (rule, "skipped")
    assert second.detail["decision"] == "cooldown" and second.detail["previous_execution"] == first.pk
    assert "cooldown 3600 s" in second.detail["reason"]


def test_cooldown_expires(site):
    make_rule(site.tenant, action="email", cooldown_seconds=3600)
    first = only(plan(predicted_session(site, visitor_ref="ann@example.com")))
    ActionExecution.all_tenants.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(seconds=3601))
    assert only(plan(predicted_session(site, visitor_ref="ann@example.com"))).status == "scheduled"


def test_cooldown_is_per_rule_and_ignores_what_never_reached_the_visitor(site):
    email = make_rule(site.tenant, action="email", cooldown_seconds=3600, class_code=2)
    make_rule(site.tenant, action="email", cooldown_seconds=3600, class_code=4)
    earlier = only(plan(predicted_session(site, code=2, visitor_ref="ann@example.com")))
    # Another rule's action does not count against this one.
    assert only(plan(predicted_session(site, code=4, visitor_ref="ann@example.com"))).status == "scheduled"
    # Held out or skipped, the visitor heard nothing: no cooldown from those.
    ActionExecution.all_tenants.filter(pk=earlier.pk).update(status="holdout")
    assert only(plan(predicted_session(site, code=2, visitor_ref="ann@example.com"))).rule == email
    assert ActionExecution.objects.for_tenant(site.tenant).filter(rule=email, status="scheduled").count() == 1


def test_without_a_visitor_reference_there_is_no_cooldown(site):
    make_rule(site.tenant, action="email", cooldown_seconds=3600)
    statuses = {only(plan(predicted_session(site))).status for _ in range(3)}
    assert statuses == {"scheduled"}


def test_cooldown_comes_before_the_holdout_draw(site):
    # A visitor inside the cooldown is in neither arm, so both arms have the same eligibility.
    make_rule(site.tenant, action="email", cooldown_seconds=3600, holdout_share=1.0)
    previous = only(plan(predicted_session(site, visitor_ref="ann@example.com")))
    ActionExecution.all_tenants.filter(pk=previous.pk).update(status="succeeded")
    assert only(plan(predicted_session(site, visitor_ref="ann@example.com"))).status == "skipped"


def test_run_after_is_now_plus_the_rules_delay(site):
    make_rule(site.tenant, action="email", delay_seconds=7200)
    before = timezone.now()
    execution = only(plan(predicted_session(site)))
    after = timezone.now()
    assert before + timedelta(seconds=7200) <= execution.run_after <= after + timedelta(seconds=7200)
    assert execution.idempotency_key == f"{execution.session_id}:{execution.rule_id}"


# --- once per session ---------------------------------------------------------------------------------------


def test_planning_again_creates_nothing_new(site):
    make_rule(site.tenant, action="email", holdout_share=0.5)
    prediction = predicted_session(site)
    first = plan(prediction)
    again = plan(prediction)
    assert [e.pk for e in again] == [e.pk for e in first]
    assert ActionExecution.objects.for_tenant(site.tenant).count() == 1


def test_a_new_prediction_for_a_planned_session_keeps_the_plan(site):
    make_rule(site.tenant, action="email", class_code=2)
    make_rule(site.tenant, action="suppress", class_code=4)
    prediction = predicted_session(site, code=2)
    first = only(plan(prediction))
    # A newer model version classifies the session again, differently.
    reclassified = prediction_for(prediction.session, 4, 0.9)
    assert [e.pk for e in plan(reclassified)] == [first.pk]
    assert ActionExecution.objects.for_tenant(site.tenant).count() == 1


def test_fallback_is_planned_once(site):
    prediction = predicted_session(site, calibrated=False)
    plan(prediction)
    plan(prediction)
    assert ActionExecution.objects.for_tenant(site.tenant).count() == 1
    assert ReviewItem.objects.for_tenant(site.tenant).count() == 1


def test_a_session_submitted_before_the_plan_needs_nothing(site):
    make_rule(site.tenant, action="email")
    prediction = predicted_session(site)
    FormSession.all_tenants.filter(pk=prediction.session_id).update(status="submitted")
    assert plan(prediction) == []


def test_api_predictions_and_foreign_ids_plan_nothing(site, other_site):
    make_rule(site.tenant)
    api_prediction = Prediction.all_tenants.create(
        tenant=site.tenant,
        source="api",
        backend="embedded",
        code=2,
        probabilities={},
        confidence=0.9,
        calibrated=True,
        latency_ms=1,
    )
    assert plan(api_prediction) == []
    theirs = predicted_session(other_site)
    assert recovery_plan_for_prediction(tenant=site.tenant, prediction_id=theirs.pk) == []
    assert not ActionExecution.all_tenants.exists()


# --- hooks: a stored prediction is planned after commit, and scheduled actions are delivered -------------


def test_a_classified_session_is_planned_after_commit(site, active_embedded_model, django_capture_on_commit_callbacks):
    session = recorded_session(site)  # a validation-error loop
    make_rule(site.tenant, action="suppress", class_code=1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        prediction = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    assert not ActionExecution.objects.for_tenant(site.tenant).exists()  # nothing before commit

    for callback in callbacks:
        callback()
    execution = ActionExecution.objects.for_tenant(site.tenant).get()
    assert (execution.session, execution.prediction, execution.class_code) == (session, prediction, 1)


def test_a_scheduled_action_is_handed_to_delivery_on_commit(site, django_capture_on_commit_callbacks):
    make_rule(site.tenant, action="suppress")
    prediction = predicted_session(site)
    with django_capture_on_commit_callbacks(execute=True):
        execution = only(plan(prediction))
    execution.refresh_from_db()
    # The suppress handler ran through the real delivery path (eager Celery in tests).
    assert (execution.status, execution.attempts, execution.detail["suppressed"]) == ("succeeded", 1, True)


# --- concurrent plans on PostgreSQL (row locks) -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_plans_of_one_session_make_one_execution(on_postgres, site):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    make_rule(site.tenant, action="email", class_code=2, delay_seconds=3600)
    make_rule(site.tenant, action="email", class_code=4, delay_seconds=3600)
    first = predicted_session(site, code=2)
    # A redelivered task and a reclassification by a newer model race the first plan.
    predictions = [first, first, prediction_for(first.session, 4, 0.9), first] * 2

    def plan_in_thread(prediction):
        try:
            return [e.pk for e in plan(prediction)]
        finally:
            connection.close()

    with ThreadPoolExecutor(len(predictions)) as pool:
        results = list(pool.map(plan_in_thread, predictions))

    (execution,) = ActionExecution.all_tenants.all()
    assert results == [[execution.pk]] * len(predictions)
