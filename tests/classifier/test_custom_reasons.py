"""Custom reasons on the embedded path: the prototype fit on the hand-written set (two reasons under one parent), the
services' refusals, the API (CRUD, examples, 400s naming the problem, another tenant's ids), session readings that
carry the best reason, tenant isolation of reasons and examples, and recovery rules matching a reason."""

from pathlib import Path

import numpy as np
import pytest

from classifier.custom_reasons.evaluation import evaluate_rows, read_rows
from classifier.custom_reasons.llm import ReasonPrompt
from classifier.custom_reasons.prototypes import ReasonExamples, fit
from classifier.custom_reasons.selectors import custom_reason_prompts, custom_reason_read
from classifier.custom_reasons.services import custom_reason_create
from classifier.models import CustomReason, Prediction
from classifier.services import prediction_for_session
from classifier.trace import trace_from_input
from recovery.models import RecoveryRule
from recovery.services import recovery_rule_matching
from tests.classifier.helpers import recorded_session

DATASET = Path(__file__).resolve().parents[2] / "training" / "data" / "custom_reasons.jsonl"
REASONS = "/api/v1/custom-reasons/"
RULES = "/api/v1/recovery/rules/"


def rows(parent: int | None = None) -> list[dict]:
    return [row for row in read_rows(DATASET) if parent is None or row["label"] == parent]


def raw_rows(reason: str) -> list[dict]:
    return [row for row in rows() if row["custom_reason"] == reason and isinstance(row["events"], list)]


# --- the fit, on the hand-written set -----------------------------------------------------------------------------


def test_two_reasons_under_one_parent_are_told_apart_held_out():
    result = evaluate_rows(rows(parent=3))  # comparison_shopping: coupon_hunting vs price_check, and 4 with neither
    by_name = {result.names[rid]: figures for rid, figures in result.fitted.figures.items()}
    assert set(by_name) == {"coupon_hunting", "price_check"}
    assert all(figures.examples == 12 for figures in by_name.values())
    # Measured 0.833 / 0.750 (0.792 overall): well above the 0.5 of guessing between two, each example held out.
    assert by_name["coupon_hunting"].loo_accuracy >= 0.75
    assert by_name["price_check"].loo_accuracy >= 0.65
    assert result.loo_accuracy >= 0.7


def test_every_reason_of_the_set_reads_back_better_than_chance():
    result = evaluate_rows(rows())
    assert len(result.fitted.figures) == 4
    assert result.loo_accuracy >= 0.65  # measured 0.750
    assert all(figures.loo_accuracy > 0.5 for figures in result.fitted.figures.values())


def test_a_session_of_another_class_never_gets_these_reasons():
    result = evaluate_rows(rows(parent=3))
    trace = trace_from_input(raw_rows("medical_questions")[0]["events"])
    from classifier.custom_reasons.vectors import field_names, names_vector
    from classifier.features import features_matrix

    assert result.fitted.score(features_matrix([trace])[0], names_vector(field_names(trace)), 6) == (None, 1.0)


def clusters(rng, centres, per: int = 6, spread: float = 0.05):
    features = np.vstack([centre + rng.normal(0, spread, (per, len(centre))) for centre in centres])
    labels = np.repeat(np.arange(1, len(centres) + 1), per)
    return features, labels


def test_clean_clusters_read_back_perfectly_and_a_far_session_gets_no_reason():
    rng = np.random.default_rng(4)
    centres = [np.array([0.0, 0.0, 0.0]), np.array([3.0, 0.0, 0.0]), np.array([0.0, 3.0, 0.0])]
    features, labels = clusters(rng, centres)
    empty = [np.zeros(256)] * len(labels)
    examples = ReasonExamples(labels, {1: 3, 2: 3, 3: None}, features, empty)
    fitted = fit(examples, mean=np.zeros(3), scale=np.ones(3))
    assert all(figures.loo_accuracy == 1.0 for figures in fitted.figures.values())
    near, score = fitted.score(np.array([2.95, 0.02, 0.0]), np.zeros(256), 3)
    assert near == 2 and score > 0.5
    far, none_score = fitted.score(np.array([-9.0, -9.0, 9.0]), np.zeros(256), 3)
    assert far is None and none_score > 0.5
    # Reason 3 has no parent: it may apply to any class, the others only to class 3.
    assert fitted.score(np.array([0.0, 3.0, 0.0]), np.zeros(256), 1)[0] == 3


def test_reasons_with_too_few_examples_are_not_fitted():
    examples = ReasonExamples(np.array([1, 1]), {1: 3}, np.zeros((2, 3)), [np.zeros(256)] * 2)
    assert fit(examples, mean=np.zeros(3), scale=np.ones(3)) is None


# --- services and API ---------------------------------------------------------------------------------------------


@pytest.fixture
def coupon_sessions(site):
    return [recorded_session(site, row["events"]) for row in raw_rows("coupon_hunting")]


@pytest.fixture
def price_sessions(site):
    return [recorded_session(site, row["events"]) for row in raw_rows("price_check")]


def create_body(sessions, **fields) -> dict:
    return (
        {"name": "coupon_hunting", "description": "left to find a code", "parent_code": 3}
        | fields
        | {"examples": fields.get("examples", [s.pk for s in sessions])}
    )


def test_create_a_reason_from_examples_and_read_its_figures(api_client, coupon_sessions, price_sessions):
    created = api_client.post(REASONS, create_body(coupon_sessions), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["examples"] == [s.pk for s in coupon_sessions] and body["parent"] == "comparison_shopping"
    assert body["ready"] is True and 0.0 <= body["loo_accuracy"] <= 1.0
    second = api_client.post(
        REASONS, create_body(price_sessions, name="price_check", description="compared totals"), format="json"
    )
    assert second.status_code == 201, second.content
    listed = api_client.get(REASONS).json()
    assert [r["name"] for r in listed["results"]] == ["coupon_hunting", "price_check"]
    refreshed = api_client.get(f"{REASONS}{body['id']}/").json()
    assert set(refreshed["confusion"]) <= {"price_check", "none"}  # refitted beside its sibling


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"parent_code": 9}, "parent_code", "unknown parent class: a class code 1-6"),
        ({"name": "Coupon Hunting"}, "name", "is not a reason name"),
        ({"examples": []}, "examples", "at least 3"),
        ({"examples": [1]}, "examples", "at least 3"),
        ({"examples": [999_999, 999_998, 999_997]}, "examples", "unknown session id(s): 999999"),
        ({"examples": "1,2,3"}, "examples", ""),
    ],
)
def test_bad_definitions_are_400_naming_the_field(api_client, coupon_sessions, fields, field, message):
    response = api_client.post(REASONS, create_body(coupon_sessions, **fields), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert message in str(response.json()[field])
    assert not CustomReason.all_tenants.exists()


def test_a_duplicate_name_is_400(api_client, coupon_sessions):
    assert api_client.post(REASONS, create_body(coupon_sessions), format="json").status_code == 201
    again = api_client.post(REASONS, create_body(coupon_sessions), format="json")
    assert again.status_code == 400 and "already exists" in str(again.json()["name"])


def test_sessions_with_no_events_cannot_be_examples(api_client, site, coupon_sessions):
    empty = recorded_session(site, [])
    response = api_client.post(
        REASONS, create_body(coupon_sessions, examples=[coupon_sessions[0].pk, coupon_sessions[1].pk, empty.pk]), format="json"
    )
    assert response.status_code == 400 and "no events" in str(response.json()["examples"])


def test_change_add_and_remove_examples_then_delete(api_client, coupon_sessions):
    reason_id = api_client.post(REASONS, create_body(coupon_sessions[:3]), format="json").json()["id"]
    added = api_client.post(f"{REASONS}{reason_id}/examples/", {"sessions": [s.pk for s in coupon_sessions]}, format="json")
    assert added.status_code == 200 and added.json()["added"] == len(coupon_sessions) - 3
    assert api_client.delete(f"{REASONS}{reason_id}/examples/{coupon_sessions[0].pk}/").status_code == 204
    assert api_client.delete(f"{REASONS}{reason_id}/examples/{coupon_sessions[0].pk}/").status_code == 404
    changed = api_client.patch(f"{REASONS}{reason_id}/", {"description": "hunting a voucher"}, format="json")
    assert changed.status_code == 200 and changed.json()["description"] == "hunting a voucher"
    assert len(changed.json()["examples"]) == len(coupon_sessions) - 1
    assert api_client.delete(f"{REASONS}{reason_id}/").status_code == 204
    assert not CustomReason.all_tenants.exists()


def test_another_tenants_reason_ids_are_not_found_and_its_sessions_unknown(
    api_client, other_api_client, other_site, coupon_sessions
):
    reason_id = api_client.post(REASONS, create_body(coupon_sessions), format="json").json()["id"]
    for response in (
        other_api_client.get(f"{REASONS}{reason_id}/"),
        other_api_client.patch(f"{REASONS}{reason_id}/", {"description": "x"}, format="json"),
        other_api_client.delete(f"{REASONS}{reason_id}/"),
        other_api_client.post(f"{REASONS}{reason_id}/examples/", {"sessions": [coupon_sessions[0].pk]}, format="json"),
        other_api_client.delete(f"{REASONS}{reason_id}/examples/{coupon_sessions[0].pk}/"),
    ):
        assert response.status_code == 404, response.content
    assert other_api_client.get(REASONS).json()["results"] == []
    # The other tenant cannot build a reason from this tenant's sessions: they are unknown there.
    stolen = other_api_client.post(REASONS, create_body(coupon_sessions), format="json")
    assert stolen.status_code == 400 and "unknown session id(s)" in str(stolen.json()["examples"])
    assert CustomReason.all_tenants.get().description == "left to find a code"


# --- readings, isolation, recovery --------------------------------------------------------------------------------


def test_a_session_reading_carries_the_best_custom_reason(active_embedded_model, tenant, site, coupon_sessions, price_sessions):
    coupons = custom_reason_create(
        tenant=tenant, name="coupon_hunting", parent_code=3, examples=[s.pk for s in coupon_sessions[1:]]
    )
    custom_reason_create(tenant=tenant, name="price_check", parent_code=3, examples=[s.pk for s in price_sessions])
    held_out = coupon_sessions[0]
    reason_id, score = custom_reason_read(tenant=tenant, trace=_trace(held_out), code=3)
    assert reason_id == coupons.pk and 0.0 < score <= 1.0
    prediction = prediction_for_session(tenant=tenant, session_id=held_out.pk)
    assert prediction.code == 3  # the six-class model reads this coupon hunter as comparison shopping
    assert (prediction.custom_reason_id, prediction.custom_reason_score) == (coupons.pk, pytest.approx(score))


def _trace(session):
    from classifier.selectors import session_trace

    return session_trace(session=session)


def test_one_tenants_reasons_never_reach_another_tenants_readings_or_prompts(
    active_embedded_model, tenant, other_tenant, site, other_site, coupon_sessions
):
    custom_reason_create(tenant=tenant, name="coupon_hunting", parent_code=3, examples=[s.pk for s in coupon_sessions])
    theirs = recorded_session(other_site, raw_rows("coupon_hunting")[0]["events"])
    assert custom_reason_read(tenant=other_tenant, trace=_trace(theirs), code=3) == (None, None)
    assert custom_reason_prompts(tenant=other_tenant, code=3) == []
    prediction = prediction_for_session(tenant=other_tenant, session_id=theirs.pk)
    assert prediction.custom_reason_id is None and prediction.custom_reason_score is None
    ours = custom_reason_prompts(tenant=tenant, code=3)
    assert [p.name for p in ours] == ["coupon_hunting"] and isinstance(ours[0], ReasonPrompt)
    assert 2 <= len(ours[0].examples) <= 5


def test_a_rule_can_match_a_custom_reason(api_client, other_api_client, tenant, site, coupon_sessions):
    reason_id = api_client.post(REASONS, create_body(coupon_sessions), format="json").json()["id"]
    specific = {"action": "review", "class_code": 3, "custom_reason": reason_id, "name": "coupon hunters"}
    created = api_client.post(RULES, specific, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["custom_reason"] == reason_id
    api_client.post(RULES, {"action": "suppress", "class_code": 3, "name": "any comparison"}, format="json")
    match = {"tenant": tenant, "site_id": site.pk, "class_code": 3, "confidence": 0.9}
    assert recovery_rule_matching(**match, custom_reason_id=reason_id).name == "coupon hunters"
    assert recovery_rule_matching(**match, custom_reason_id=None).name == "any comparison"
    # Refusals: a reason of another class, another tenant's reason, deleting a reason a rule matches on.
    wrong_class = api_client.post(RULES, {**specific, "class_code": 6}, format="json")
    assert wrong_class.status_code == 400 and "splits class 3" in str(wrong_class.json()["custom_reason"])
    foreign = other_api_client.post(RULES, {**specific, "name": "theirs"}, format="json")
    assert foreign.status_code == 400 and foreign.json()["custom_reason"] == ["not found"]
    refused = api_client.delete(f"{REASONS}{reason_id}/")
    assert refused.status_code == 409 and "recovery rule" in refused.json()["detail"]
    assert RecoveryRule.objects.for_tenant(tenant).filter(custom_reason_id=reason_id).exists()


def test_predictions_keep_no_reason_when_the_reason_is_deleted(active_embedded_model, tenant, coupon_sessions):
    reason = custom_reason_create(
        tenant=tenant, name="coupon_hunting", parent_code=None, examples=[s.pk for s in coupon_sessions]
    )
    prediction = prediction_for_session(tenant=tenant, session_id=coupon_sessions[0].pk)
    assert prediction.custom_reason_id == reason.pk  # no parent: any class may carry it
    reason.delete()
    assert Prediction.objects.for_tenant(tenant).get(pk=prediction.pk).custom_reason_id is None


# --- where operators see it: sessions API and admin list, dashboard export, admin pages ----------------------------


@pytest.fixture
def read_sessions(active_embedded_model, tenant, other_tenant, other_site, coupon_sessions):
    """This tenant's coupon hunters read with their reason (no parent: any class), and the other tenant's reason
    and reading of the same behaviour."""
    reason = custom_reason_create(tenant=tenant, name="coupon_hunting", examples=[s.pk for s in coupon_sessions])
    theirs = [recorded_session(other_site, row["events"]) for row in raw_rows("coupon_hunting")[:3]]
    custom_reason_create(tenant=other_tenant, name="globex_coupons", examples=[s.pk for s in theirs])
    for session in [*coupon_sessions, *theirs]:
        prediction_for_session(tenant=session.tenant, session_id=session.pk)
    return reason


def test_the_sessions_api_shows_and_filters_by_custom_reason(api_client, other_api_client, read_sessions, coupon_sessions):
    listed = api_client.get("/api/v1/sessions/", {"custom_reason": read_sessions.pk}).json()
    assert listed["count"] == len(coupon_sessions)
    assert {row["prediction"]["custom_reason"] for row in listed["results"]} == {"coupon_hunting"}
    assert all(0 < row["prediction"]["custom_reason_score"] <= 1 for row in listed["results"])
    assert other_api_client.get("/api/v1/sessions/", {"custom_reason": read_sessions.pk}).json()["count"] == 0


def test_the_dashboard_counts_and_exports_custom_reasons_of_its_tenant_only(client, tenant, read_sessions, coupon_sessions):
    import csv
    import io

    from django.utils import timezone

    from formrecap.models import Membership
    from tests.factories import MembershipFactory, UserFactory

    owner = UserFactory(username="reasons-owner")
    MembershipFactory(tenant=tenant, user=owner, role=Membership.Role.ANALYST)
    client.force_login(owner)
    today = timezone.localdate().isoformat()
    page = client.get(f"/admin/dashboard/?start={today}&end={today}")
    assert page.status_code == 200 and "Your custom reasons" in page.content.decode()
    assert "globex_coupons" not in page.content.decode()
    exported = client.get(f"/admin/dashboard/?start={today}&end={today}&export=custom_reasons")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == ["Custom reason", "Of class", "Abandoned sessions", "Share of that class", "Mean score"]
    assert [row[:3] for row in rows[1:]] == [["coupon_hunting", "any class", str(len(coupon_sessions))]]
    assert float(rows[1][3]) == pytest.approx(1.0)  # a reason of any class: its share of every abandonment here


def test_admin_shows_how_well_examples_separate_and_the_review_queue_attaches_examples(
    client, tenant, site, coupon_sessions, price_sessions
):
    from formrecap.models import Membership
    from recovery.models import ReviewItem
    from tests.factories import MembershipFactory, UserFactory

    owner = UserFactory(username="reasons-admin", is_staff=True)
    MembershipFactory(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    client.force_login(owner)
    added = client.post(
        "/admin/classifier/customreason/add/",
        {"tenant": tenant.pk, "name": "price_check", "description": "", "parent_code": 3,
         "add_examples": ", ".join(str(s.pk) for s in price_sessions)},
    )  # fmt: skip
    assert added.status_code == 302, added.content.decode()[:3000]
    reason = CustomReason.objects.for_tenant(tenant).get(name="price_check")
    assert reason.examples.count() == len(price_sessions) and reason.fit["ready"] is True
    page = client.get(f"/admin/classifier/customreason/{reason.pk}/change/").content.decode()
    assert "held out in turn" in page and f"/admin/formrecap/formsession/{price_sessions[0].pk}/change/" in page
    refused = client.post(
        "/admin/classifier/customreason/add/",
        {"tenant": tenant.pk, "name": "price_check", "parent_code": 3, "add_examples": "999999"},
    )
    assert refused.status_code == 200 and "already exists" in refused.content.decode()
    assert "unknown session id(s): 999999" in refused.content.decode()

    item = ReviewItem.all_tenants.create(tenant=tenant, session=coupon_sessions[0], reason="low confidence")
    saved = client.post(f"/admin/recovery/reviewitem/{item.pk}/change/", {"label": 3, "note": "", "custom_reason": reason.pk})
    assert saved.status_code == 302
    assert reason.examples.filter(session=coupon_sessions[0]).exists()


def test_a_process_refits_when_examples_go_with_their_sessions(active_embedded_model, tenant, coupon_sessions):
    reason = custom_reason_create(tenant=tenant, name="coupon_hunting", examples=[s.pk for s in coupon_sessions[:4]])
    trace = _trace(coupon_sessions[5])
    assert custom_reason_read(tenant=tenant, trace=trace, code=3)[0] == reason.pk  # fitted and cached
    coupon_sessions[0].delete()
    coupon_sessions[1].delete()  # their examples go by cascade, the reason row is untouched
    assert custom_reason_read(tenant=tenant, trace=trace, code=3) == (None, None)  # 2 examples: not used


def test_changing_the_parent_under_a_rule_is_refused(api_client, coupon_sessions):
    reason_id = api_client.post(REASONS, create_body(coupon_sessions), format="json").json()["id"]
    api_client.post(RULES, {"action": "review", "class_code": 3, "custom_reason": reason_id}, format="json")
    moved = api_client.patch(f"{REASONS}{reason_id}/", {"parent_code": 6}, format="json")
    assert moved.status_code == 400 and "match this reason for another class" in str(moved.json()["parent_code"])
    assert api_client.patch(f"{REASONS}{reason_id}/", {"parent_code": 3, "name": "coupons"}, format="json").status_code == 200


def test_attaching_a_session_twice_keeps_it_once(api_client, coupon_sessions):
    reason_id = api_client.post(REASONS, create_body(coupon_sessions[:3]), format="json").json()["id"]
    again = api_client.post(f"{REASONS}{reason_id}/examples/", {"sessions": [coupon_sessions[0].pk] * 2}, format="json")
    assert again.status_code == 200 and again.json()["added"] == 0 and len(again.json()["reason"]["examples"]) == 3


def test_admin_refuses_ids_that_only_look_like_numbers(client, tenant, coupon_sessions):
    from formrecap.models import Membership
    from tests.factories import MembershipFactory, UserFactory

    owner = UserFactory(username="reasons-digits", is_staff=True)
    MembershipFactory(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    client.force_login(owner)
    response = client.post(
        "/admin/classifier/customreason/add/", {"tenant": tenant.pk, "name": "coupons", "add_examples": "12, ², x"}
    )
    assert response.status_code == 200 and "not session ids: ², x" in response.content.decode()
    assert not CustomReason.all_tenants.exists()
