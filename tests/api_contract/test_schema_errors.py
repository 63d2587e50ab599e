"""The OpenAPI schema documents pages, errors and bounds (schemathesis checks it against the app beside this)."""

import pytest


@pytest.fixture
def schema(client, db) -> dict:
    return client.get("/api/schema/?format=json").json()


def test_paginated_lists_are_documented_as_pages(schema):
    ok = schema["paths"]["/api/v1/sessions/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
    assert {"count", "results"} <= set(page["required"]) and page["properties"]["results"]["type"] == "array"


def test_errors_are_documented(schema):
    assert {"401", "403", "404"} <= set(schema["paths"]["/api/v1/sites/{site_id}/"]["get"]["responses"])
    ingest = schema["paths"]["/api/v1/ingest/"]["post"]
    assert {"400", "401", "403", "413", "415", "429"} <= set(ingest["responses"])
    body = ingest["requestBody"]["content"]["application/json"]["schema"]
    assert body["additionalProperties"] is False and "events" in body["required"]


def test_integer_query_parameters_are_bounded(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/sessions/"]["get"]["parameters"]}
    assert parameters["site"]["minimum"] == 1 and parameters["site"]["maximum"] == 2**63 - 1
    assert parameters["page"]["minimum"] == 1
