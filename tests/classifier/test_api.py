"""Classification API (single and batch) and the sessions API's predictions: shape, errors, tenancy, queries."""

import json

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from classifier.api import MAX_BATCH_TRACES
from classifier.labels import CLASSES
from classifier.models import Prediction
from classifier.services import prediction_for_session
from classifier.trace import MAX_TOKENS, MAX_TRACE_BYTES
from formrecap.services import api_key_create, api_key_revoke
from tests.classifier.helpers import VALIDATION_EVENTS, VALIDATION_TRACE, another_active_model, recorded_session
from tests.factories import FormSessionFactory

CLASSIFY = "/api/v1/classify/"
BATCH = "/api/v1/classify/batch/"
hypothesis_settings = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None, max_examples=150
)


def post(client, url: str, body) -> object:
    return client.post(url, body, format="json")


def stored(tenant) -> int:
    return Prediction.objects.for_tenant(tenant).count()


def assert_classification(result: dict, model_version) -> None:
    probabilities = result["probabilities"]
    assert list(probabilities) == ["1", "2", "3", "4", "5", "6"]
    assert sum(probabilities.values()) == pytest.approx(1, abs=1e-5)
    assert all(0 <= p <= 1 for p in probabilities.values())
    assert result["confidence"] == max(probabilities.values()) == probabilities[str(result["code"])]
    assert result["class"] == CLASSES[result["code"]]
    assert result["calibrated"] is True  # the embedded model's probabilities are temperature-scaled
    assert result["model_version"] == model_version.label
    assert result["explanation"]["signals"] and all(isinstance(s, str) for s in result["explanation"]["signals"])
    assert result["explanation"]["reason"]
    assert result["latency_ms"] >= 0


# --- POST /api/v1/classify/ ---------------------------------------------------------------


@pytest.mark.parametrize("events", [VALIDATION_TRACE, VALIDATION_EVENTS], ids=["terse", "raw"])
def test_classify_returns_a_calibrated_classification(api_client, active_embedded_model, events):
    response = post(api_client, CLASSIFY, {"events": events})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "code",
        "class",
        "probabilities",
        "confidence",
        "calibrated",
        "model_version",
        "explanation",
        "latency_ms",
    }
    assert_classification(body, active_embedded_model)
    assert body["class"] == "validation_error"
    assert any("email failed validation 3 times" in signal for signal in body["explanation"]["signals"])


def test_classify_stores_the_prediction_under_the_callers_tenant_only(api_client, tenant, other_tenant, active_embedded_model):
    body = post(api_client, CLASSIFY, {"events": VALIDATION_TRACE, "backend": "embedded"}).json()
    prediction = Prediction.objects.for_tenant(tenant).get()
    assert (prediction.source, prediction.session, prediction.code) == ("api", None, body["code"])
    assert prediction.model_version == active_embedded_model and prediction.backend == "embedded"
    assert prediction.probabilities == body["probabilities"] and prediction.calibrated
    assert stored(other_tenant) == 0


@pytest.mark.parametrize(
    ("events", "detail", "position"),
    [
        ("focus:email, input:email(x8), x, exit", "token 2 'x': unknown token kind 'x'", 2),
        ("focus:email, input:email(xa)", "token 1 'input:email(xa)': malformed count (expected xN)", 1),
        ("focus:Email", "token 0 'focus:Email': malformed field", 0),
        ("scroll:page", "token 0 'scroll:page': missing duration (Nms)", 0),
        ("", "trace is empty", None),
        (" , ,", "token 0 '': empty token", 0),
        ("exit, " * (MAX_TOKENS + 1), f"trace has {MAX_TOKENS + 1} tokens, at most {MAX_TOKENS} allowed", None),
        ("focus:" + "a" * MAX_TRACE_BYTES, f"at most {MAX_TRACE_BYTES} allowed", None),
        ([], "trace is empty: no events", None),
        ([{"type": "typing", "ts": 0}], "events[0].type: must be one of", None),
        ([{"type": "input", "field": "email", "ts": 0, "value": "secret"}], "events[0]", None),
        (
            [{"type": "focus", "field": "a", "ts": 9}, {"type": "exit", "ts": 1}],
            "events[1].ts: timestamps must not decrease",
            None,
        ),
    ],
)
def test_bad_trace_is_400_naming_position_and_problem(api_client, tenant, active_embedded_model, events, detail, position):
    response = post(api_client, CLASSIFY, {"events": events})
    assert response.status_code == 400
    body = response.json()
    assert detail in body["detail"] and body["position"] == position
    assert stored(tenant) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "events"),
        ({"events": None}, "events"),
        ({"events": 42}, "events"),
        ({"events": {"type": "exit"}}, "events"),
        ({"events": "exit", "backend": "gpt-9"}, "backend"),
        ({"events": "exit", "backend": ["embedded"]}, "backend"),
    ],
)
def test_bad_body_is_400_naming_the_field(api_client, active_embedded_model, body, field):
    response = post(api_client, CLASSIFY, body)
    assert response.status_code == 400 and field in response.json()


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2", b'{"events": NaN}', b'{"events": "' + b"\xff" * 3 + b'"}', b"[" * 100_000 + b"]" * 100_000],
)
def test_unparseable_body_is_400(api_client, active_embedded_model, raw):
    response = api_client.post(CLASSIFY, raw, content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()


def test_empty_body_is_400_asking_for_events(api_client, active_embedded_model):
    response = api_client.post(CLASSIFY, b"", content_type="application/json")
    assert response.status_code == 400 and response.json() == {"events": ["This field is required."]}


def test_lone_surrogate_echoed_in_an_error_is_still_a_400(api_client, active_embedded_model):
    response = api_client.post(CLASSIFY, b'{"events": "exit", "backend": "\\ud800"}', content_type="application/json")
    assert response.status_code == 400 and "backend" in json.loads(response.content)


@pytest.mark.parametrize("url", [CLASSIFY, BATCH])
def test_oversized_body_is_413(api_client, tenant, active_embedded_model, settings, url):
    settings.FORMRECAP_API_MAX_BODY_BYTES = 1000
    response = post(api_client, url, {"events": "exit, " * 200, "traces": ["exit"]})
    assert response.status_code == 413 and "larger than" in response.json()["detail"]
    assert stored(tenant) == 0


def test_no_active_model_is_503_and_nothing_is_stored(api_client, tenant):
    response = post(api_client, CLASSIFY, {"events": VALIDATION_TRACE})
    assert response.status_code == 503
    assert "no active embedded model" in response.json()["detail"] and "train_embedded" in response.json()["detail"]
    assert stored(tenant) == 0


@pytest.mark.parametrize("url", [CLASSIFY, BATCH])
def test_classify_needs_an_api_key(db, url):
    response = APIClient().post(url, {"events": "exit", "traces": ["exit"]}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("url", [CLASSIFY, BATCH])
def test_classify_needs_the_write_scope(tenant, active_embedded_model, url):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(tenant=tenant, name='r', scopes=['read']).secret}")
    response = post(client, url, {"events": "exit", "traces": ["exit"]})
    assert response.status_code == 403 and "scope" in response.json()["detail"]
    assert stored(tenant) == 0


def test_classify_with_a_revoked_key_is_401(tenant, api_client, issued_key, active_embedded_model):
    api_key_revoke(tenant=tenant, api_key_id=issued_key.api_key.pk)
    assert post(api_client, CLASSIFY, {"events": "exit"}).status_code == 401


def test_classify_refuses_get(api_client):
    assert api_client.get(CLASSIFY).status_code == 405


# --- POST /api/v1/classify/batch/ ------------------------------------------------------------

BATCH_TRACES = [
    VALIDATION_TRACE,
    VALIDATION_EVENTS,
    "focus:name, input:name(x6), blur:name, focus:email, input:email(x12), blur:email, scroll:page(600000ms), exit",
    "input:name(x9), input:email(x17), input:message(x400), submit",
]


def test_batch_classifies_in_order_like_single_calls(api_client, tenant, active_embedded_model):
    response = post(api_client, BATCH, {"traces": BATCH_TRACES})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"results", "latency_ms"} and body["latency_ms"] >= 0
    assert len(body["results"]) == len(BATCH_TRACES)
    singles = [post(api_client, CLASSIFY, {"events": trace}).json() for trace in BATCH_TRACES]
    for result, single in zip(body["results"], singles, strict=True):
        assert_classification(result, active_embedded_model)
        assert (result["code"], result["probabilities"]) == (single["code"], single["probabilities"])
    assert [r["class"] for r in body["results"]][:2] == ["validation_error", "validation_error"]
    assert stored(tenant) == 2 * len(BATCH_TRACES)


def test_batch_stores_predictions_under_the_callers_tenant_only(other_api_client, tenant, other_tenant, active_embedded_model):
    assert post(other_api_client, BATCH, {"traces": BATCH_TRACES}).status_code == 200
    assert (stored(tenant), stored(other_tenant)) == (0, len(BATCH_TRACES))


def test_batch_bad_trace_names_index_and_problem_and_stores_nothing(api_client, tenant, active_embedded_model):
    traces = ["focus:email, exit"] * 7 + ["focus:email, input:email, blur:email, x, exit"] + ["exit"] * 3
    response = post(api_client, BATCH, {"traces": traces})
    assert response.status_code == 400
    assert response.json() == {"detail": "traces[7]: token 3 'x': unknown token kind 'x'", "index": 7, "position": 3}
    assert stored(tenant) == 0


def test_batch_bad_raw_trace_names_index(api_client, active_embedded_model):
    response = post(api_client, BATCH, {"traces": ["exit", [{"type": "focus", "ts": 0}]]})
    assert response.status_code == 400
    assert response.json()["detail"] == "traces[1]: events[0].field: required for focus events"
    assert response.json()["index"] == 1


def test_batch_of_the_maximum_size_is_classified(api_client, tenant, active_embedded_model):
    traces = [BATCH_TRACES[i % len(BATCH_TRACES)] for i in range(MAX_BATCH_TRACES)]
    response = post(api_client, BATCH, {"traces": traces})
    assert response.status_code == 200 and len(response.json()["results"]) == MAX_BATCH_TRACES
    assert stored(tenant) == MAX_BATCH_TRACES


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"traces": ["exit"] * (MAX_BATCH_TRACES + 1)}, f"no more than {MAX_BATCH_TRACES}"),
        ({"traces": []}, "at least 1"),
        ({}, "required"),
        ({"traces": "exit"}, "list"),
        ({"traces": ["exit", 7]}, "terse trace string or a list of raw events"),
        ({"traces": ["exit"], "backend": "nope"}, "not a valid choice"),
        ({"traces": ["exit"], "backend": "claude"}, "not a valid choice"),  # baselines are for evaluation only
        ({"traces": ["exit"], "backend": "zero_shot"}, "not a valid choice"),
    ],
)
def test_bad_batch_body_is_400(api_client, tenant, active_embedded_model, body, message):
    response = post(api_client, BATCH, body)
    assert response.status_code == 400 and message in json.dumps(response.json())
    assert stored(tenant) == 0


def test_batch_without_an_active_model_is_503(api_client):
    response = post(api_client, BATCH, {"traces": ["exit"]})
    assert response.status_code == 503 and "no active embedded model" in response.json()["detail"]


# --- never a 500 -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["focus", "blur", "input", "scroll", "exit", "submit", "x"]), "ts": st.integers(-5, 10**6)},
    optional={
        "field": st.text(max_size=20) | st.sampled_from(["email", "plan_price", "Email"]),
        "validation": st.text(max_size=10) | json_values,
        "duration_ms": json_values,
        "value": st.text(max_size=5),
    },
)
trace_like = st.text(max_size=200) | st.lists(event_like | json_values, max_size=10) | json_values
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"events": trace_like}, optional={"backend": st.sampled_from(["embedded", "x"]) | json_values}),
    st.fixed_dictionaries({"traces": st.lists(trace_like, max_size=5) | json_values}, optional={"backend": json_values}),
)


@hypothesis_settings
@given(body=bodies)
def test_arbitrary_json_never_causes_a_500(api_client, active_embedded_model, body):
    for url in (CLASSIFY, BATCH):
        response = api_client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code in (200, 400), (url, response.status_code, response.content[:500])
        assert isinstance(json.loads(response.content), dict)


@hypothesis_settings
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_never_cause_a_500(api_client, active_embedded_model, raw):
    for url in (CLASSIFY, BATCH):
        response = api_client.post(url, raw, content_type="application/json")
        assert response.status_code in (200, 400), (url, response.status_code, response.content[:500])


# --- GET /api/v1/sessions/ and /api/v1/sessions/{id}/ with predictions ---------------------------


@pytest.fixture
def classified(site, active_embedded_model):
    """An abandoned session with a stored prediction (the real service, as the task runs it)."""
    session = recorded_session(site)
    prediction_for_session(tenant=site.tenant, session_id=session.pk)
    return session


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_session_list_rows_carry_the_latest_prediction_or_null(api_client, site, classified, active_embedded_model):
    unclassified = FormSessionFactory(site=site)
    by_id = {row["id"]: row for row in rows(api_client.get("/api/v1/sessions/"))}
    assert by_id[unclassified.pk]["prediction"] is None
    assert by_id[classified.pk]["prediction"] == {
        "code": 1,
        "class": "validation_error",
        "confidence": pytest.approx(by_id[classified.pk]["prediction"]["confidence"]),
        "calibrated": True,
        "final": True,
        "model_version": active_embedded_model.label,
        "custom_reason": None,  # the tenant defined none
        "custom_reason_score": None,
    }
    # A newer model classifies it again: the row shows the newer prediction.
    newer = another_active_model(active_embedded_model)
    prediction_for_session(tenant=site.tenant, session_id=classified.pk)
    by_id = {row["id"]: row for row in rows(api_client.get("/api/v1/sessions/"))}
    assert by_id[classified.pk]["prediction"]["model_version"] == newer.label


@pytest.mark.parametrize("value", ["1", "validation_error", " validation_error "])
def test_session_list_filters_by_predicted_class(api_client, site, classified, value):
    FormSessionFactory(site=site)
    distracted = recorded_session(site, [{"type": "focus", "field": "name", "ts": 0}, {"type": "exit", "ts": 10}])
    Prediction.objects.create(
        tenant=site.tenant, session=distracted, source="session", backend="embedded", code=2,
        probabilities={"1": 0, "2": 1, "3": 0, "4": 0, "5": 0, "6": 0}, confidence=1.0, calibrated=True, latency_ms=1,
    )  # fmt: skip
    assert [row["id"] for row in rows(api_client.get("/api/v1/sessions/", {"class": value}))] == [classified.pk]
    assert [row["id"] for row in rows(api_client.get("/api/v1/sessions/", {"class": "distraction"}))] == [distracted.pk]
    assert rows(api_client.get("/api/v1/sessions/", {"class": "bot"})) == []


def test_class_filter_uses_the_latest_prediction(api_client, site, classified, active_embedded_model):
    newer = another_active_model(active_embedded_model)
    Prediction.objects.create(
        tenant=site.tenant, session=classified, source="session", backend="embedded", code=5, model_version=newer,
        probabilities={"1": 0, "2": 0, "3": 0, "4": 0, "5": 1, "6": 0}, confidence=1.0, calibrated=True, latency_ms=1,
    )  # fmt: skip
    assert rows(api_client.get("/api/v1/sessions/", {"class": "1"})) == []
    assert [row["id"] for row in rows(api_client.get("/api/v1/sessions/", {"class": "5"}))] == [classified.pk]


def test_class_filter_never_shows_another_tenants_sessions(api_client, other_api_client, other_site, classified):
    theirs = recorded_session(other_site)
    prediction_for_session(tenant=other_site.tenant, session_id=theirs.pk)
    mine = rows(api_client.get("/api/v1/sessions/", {"class": "validation_error"}))
    assert [row["id"] for row in mine] == [classified.pk]
    assert [row["id"] for row in rows(other_api_client.get("/api/v1/sessions/", {"class": "1"}))] == [theirs.pk]


@pytest.mark.parametrize("value", ["0", "7", "validation", "-1", "1.0", "Bot"])
def test_bad_class_filter_is_400_naming_it(api_client, value):
    response = api_client.get("/api/v1/sessions/", {"class": value})
    assert response.status_code == 400 and "class" in response.json()


def test_session_list_costs_the_same_queries_for_any_page_size(
    api_client, site, active_embedded_model, django_assert_max_num_queries
):
    for _ in range(12):
        session = recorded_session(site)
        prediction_for_session(tenant=site.tenant, session_id=session.pk)
    # key lookup (+ its last-used touch), count, page, predictions with their model versions: whatever the page holds
    with django_assert_max_num_queries(5):
        listed = rows(api_client.get("/api/v1/sessions/", {"class": "validation_error"}))
    assert len(listed) == 12 and all(row["prediction"]["model_version"] for row in listed)


def test_session_detail_has_trace_and_full_prediction(api_client, classified, active_embedded_model):
    body = api_client.get(f"/api/v1/sessions/{classified.pk}/").json()
    assert body["trace"] == VALIDATION_TRACE.replace(", scroll:page(2000ms)", "")
    assert len(body["events"]) == len(VALIDATION_EVENTS)
    prediction = body["prediction"]
    assert_classification(prediction, active_embedded_model)
    assert prediction["class"] == "validation_error" and prediction["backend"] == "embedded"
    assert prediction["created_at"]


def test_session_detail_without_events_or_prediction(api_client, site):
    session = FormSessionFactory(site=site)
    body = api_client.get(f"/api/v1/sessions/{session.pk}/").json()
    assert (body["trace"], body["prediction"], body["events"]) == (None, None, [])


def test_session_detail_of_another_tenant_is_404(other_api_client, classified):
    response = other_api_client.get(f"/api/v1/sessions/{classified.pk}/")
    assert response.status_code == 404 and "prediction" not in response.json()


def test_openapi_documents_classification(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    assert {"/api/v1/classify/", "/api/v1/classify/batch/"} <= set(schema["paths"])
    components = schema["components"]["schemas"]
    output = components["ClassificationOutput"]["properties"]
    assert {"code", "class", "probabilities", "confidence", "calibrated", "model_version", "explanation", "latency_ms"} <= set(
        output
    )
    assert set(output["probabilities"]["properties"]) == {"1", "2", "3", "4", "5", "6"}
    parameters = {p["name"] for p in schema["paths"]["/api/v1/sessions/"]["get"]["parameters"]}
    assert "class" in parameters


def test_openapi_schema_generates_without_warnings(db, tmp_path):
    # Duplicate component names (two nested "InputSerializer"s) would silently merge in the published schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
