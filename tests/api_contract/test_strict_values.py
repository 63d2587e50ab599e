"""Values that DRF would quietly bend are refused with a 400 naming the field (found by schemathesis's coverage
phase): a blank date-time query value is not "no filter", and a boolean is not a number."""

import pytest


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/sessions/?started_before=", "started_before"),
        ("/api/v1/sessions/?started_after=", "started_after"),
        ("/api/v1/recovery/stats/?until=", "until"),
        ("/api/v1/recovery/stats/?since=", "since"),
    ],
)
def test_a_blank_date_time_filter_is_a_400(api_client, path, field):
    response = api_client.get(path)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_present_date_time_filter_still_filters(api_client):
    assert api_client.get("/api/v1/sessions/?started_before=2026-01-01T00:00:00Z").status_code == 200


def test_a_boolean_is_not_a_threshold(api_client, site):
    response = api_client.patch(f"/api/v1/sites/{site.pk}/", {"escalation_threshold": False}, format="json")
    assert response.status_code == 400 and "escalation_threshold" in response.json()
    assert api_client.patch(f"/api/v1/sites/{site.pk}/", {"escalation_threshold": 0.5}, format="json").status_code == 200


def test_a_boolean_is_not_a_confidence(api_client):
    response = api_client.post("/api/v1/recovery/rules/", {"action": "review", "min_confidence": True}, format="json")
    assert response.status_code == 400 and "min_confidence" in response.json()
