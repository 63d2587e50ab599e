"""Uplift stats: Wilson and Newcombe intervals against Newcombe's published examples, the treated/holdout counts
per rule and class from real executions, and GET /api/v1/recovery/stats/ (tenant-scoped)."""

import pytest

from recovery.models import ActionExecution
from recovery.stats import Z_95, newcombe_difference_interval, recovery_uplift, wilson_interval
from tests.factories import FormSessionFactory
from tests.recovery.plans import execution_row, make_rule

URL = "/api/v1/recovery/stats/"

# Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven methods.
# Statistics in Medicine 1998;17:857-872, Table I, method 3 (score, no continuity correction).
WILSON_EXAMPLES = [
    ((81, 263), (0.2553, 0.3662)),
    ((15, 148), (0.0624, 0.1605)),
    ((0, 20), (0.0, 0.1611)),
    ((1, 29), (0.0061, 0.1718)),
]
# Newcombe RG. Interval estimation for the difference between independent proportions: comparison of eleven
# methods. Statistics in Medicine 1998;17:873-890, Table II, method 10 (hybrid score, no continuity correction).
NEWCOMBE_EXAMPLES = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0)),
    ((10, 10, 0, 10), (0.6075, 1.0)),
]


def test_z_is_the_two_sided_95_percent_quantile():
    assert round(Z_95, 6) == 1.959964


@pytest.mark.parametrize(("counts", "expected"), WILSON_EXAMPLES)
def test_wilson_interval_matches_newcombe_table_i(counts, expected):
    low, high = wilson_interval(*counts)
    assert (round(low, 4), round(high, 4)) == expected


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_EXAMPLES)
def test_difference_interval_matches_newcombe_table_ii(counts, expected):
    low, high = newcombe_difference_interval(*counts)
    assert (round(low, 4), round(high, 4)) == expected


def test_an_empty_arm_has_no_interval():
    assert newcombe_difference_interval(3, 10, 0, 0) is None
    assert newcombe_difference_interval(0, 0, 3, 10) is None
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_the_interval_contains_the_difference_and_stays_in_bounds():
    for x1, n1, x2, n2 in [(1, 3, 2, 3), (0, 1, 1, 1), (50, 100, 50, 100), (99, 100, 1, 100)]:
        low, high = newcombe_difference_interval(x1, n1, x2, n2)
        assert -1 <= low <= x1 / n1 - x2 / n2 <= high <= 1


# --- counts from executions -----------------------------------------------------------------------------


def arm(rule, status: str, n: int, recovered: int, *, class_code: int = 2, **fields) -> list[ActionExecution]:
    sessions = FormSessionFactory.create_batch(n, site=rule.site or rule.tenant.sites.first(), status="abandoned")
    return [
        execution_row(rule, s, status, recovered=i < recovered, class_code=class_code, **fields) for i, s in enumerate(sessions)
    ]


@pytest.fixture
def published_example(site):
    """A rule whose treated arm is 56/70 recovered and holdout 48/80 (Newcombe's example a)."""
    rule = make_rule(site.tenant, action="email", name="nudge", holdout_share=0.5)
    rows = [
        *arm(rule, "succeeded", 40, 36),
        *arm(rule, "scheduled", 10, 8),
        *arm(rule, "failed", 5, 4),
        *arm(rule, "skipped", 15, 8, detail={"reason": "no email address for this visitor"}),  # intention to treat
        *arm(rule, "holdout", 80, 48),
        # Skipped by the cooldown before assignment: in neither arm.
        *arm(rule, "skipped", 7, 7, detail={"decision": "cooldown", "reason": "…"}),
    ]
    ActionExecution.all_tenants.bulk_create(rows)
    return rule


def test_uplift_counts_treated_and_holdout_per_rule_and_class(site, published_example):
    rule = published_example
    ActionExecution.all_tenants.bulk_create(
        [*arm(rule, "succeeded", 4, 1, class_code=3), *arm(rule, "holdout", 2, 2, class_code=3)]
    )

    rows = recovery_uplift(tenant=site.tenant)

    assert [(row.rule_id, row.class_code) for row in rows] == [(rule.pk, 2), (rule.pk, 3)]
    distraction, comparison = rows
    assert (distraction.treated.n, distraction.treated.recovered) == (70, 56)
    assert (distraction.holdout.n, distraction.holdout.recovered) == (80, 48)
    assert distraction.treated.rate == pytest.approx(0.8) and distraction.holdout.rate == pytest.approx(0.6)
    assert distraction.difference == pytest.approx(0.2)
    assert tuple(round(bound, 4) for bound in distraction.ci) == (0.0524, 0.3339)
    assert (comparison.treated.n, comparison.treated.recovered, comparison.holdout.n, comparison.holdout.recovered) == (
        4,
        1,
        2,
        2,
    )


def test_uplift_leaves_out_the_fallback_and_other_tenants(site, other_site, published_example):
    fallback_session = FormSessionFactory(site=site, status="abandoned")
    ActionExecution.all_tenants.bulk_create([execution_row(None, fallback_session, "succeeded", recovered=True)])
    theirs = make_rule(other_site.tenant, action="email")
    ActionExecution.all_tenants.bulk_create(arm(theirs, "succeeded", 5, 5))

    assert [row.rule_id for row in recovery_uplift(tenant=site.tenant)] == [published_example.pk]
    assert [(row.rule_id, row.treated.n) for row in recovery_uplift(tenant=other_site.tenant)] == [(theirs.pk, 5)]


def test_an_arm_with_no_sessions_gives_no_difference(site):
    rule = make_rule(site.tenant, action="email")
    ActionExecution.all_tenants.bulk_create(arm(rule, "succeeded", 3, 1))
    row = recovery_uplift(tenant=site.tenant)[0]
    assert (row.treated.n, row.holdout.n, row.holdout.rate, row.difference, row.ci) == (3, 0, None, None, None)


# --- the API ------------------------------------------------------------------------------------------------


def test_stats_api(api_client, published_example):
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["confidence_level"] == 0.95
    (row,) = body["results"]
    assert row == {
        "rule": published_example.pk,
        "rule_name": "nudge",
        "action": "email",
        "class_code": 2,
        "class": "distraction",
        "treated_n": 70,
        "treated_recovered": 56,
        "treated_rate": pytest.approx(0.8),
        "holdout_n": 80,
        "holdout_recovered": 48,
        "holdout_rate": pytest.approx(0.6),
        "difference": pytest.approx(0.2),
        "ci_low": pytest.approx(0.0524, abs=5e-5),
        "ci_high": pytest.approx(0.3339, abs=5e-5),
    }


def test_stats_api_filters(api_client, site, published_example):
    other_rule = make_rule(site.tenant, action="suppress")
    ActionExecution.all_tenants.bulk_create(arm(other_rule, "succeeded", 2, 0))
    assert {r["rule"] for r in api_client.get(URL).json()["results"]} == {published_example.pk, other_rule.pk}
    assert [r["rule"] for r in api_client.get(URL, {"rule": other_rule.pk}).json()["results"]] == [other_rule.pk]
    assert api_client.get(URL, {"since": "2999-01-01T00:00:00Z"}).json()["results"] == []
    assert len(api_client.get(URL, {"until": "2999-01-01T00:00:00Z"}).json()["results"]) == 2
    assert api_client.get(URL, {"since": "yesterday"}).status_code == 400
    assert api_client.get(URL, {"rule": "9" * 20}).status_code == 400


def test_stats_api_never_shows_another_tenants_rules(other_api_client, api_client, published_example):
    assert other_api_client.get(URL).json()["results"] == []
    assert other_api_client.get(URL, {"rule": published_example.pk}).json()["results"] == []
    assert api_client.get(URL).json()["results"] != []


def test_stats_api_needs_a_key(db):
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code == 401
