"""POST /api/v1/ingest/: storage, idempotency, lifecycle, origins, CORS and every refusal."""

import json
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.settings import api_settings

from formrecap.ingest.api import IngestRateThrottle
from formrecap.models import FormSession, TraceChunk
from tests.conftest import SITE_ORIGIN

URL = "/api/v1/ingest/"


@pytest.fixture
def post():
    client = Client()

    def send(body, *, origin=SITE_ORIGIN, content_type="text/plain", raw: bytes | None = None, **extra):
        data = raw if raw is not None else json.dumps(body)
        headers = {"HTTP_ORIGIN": origin} if origin else {}
        return client.generic("POST", URL, data=data, content_type=content_type, **headers, **extra)

    return send


def detail(response) -> str:
    return response.json()["detail"]


# --- storage and idempotency -------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8", "application/json"])
def test_batch_is_stored(post, make_batch, site, content_type):
    body = make_batch()
    response = post(body, content_type=content_type)
    assert response.status_code == 202, response.content
    assert response.json() == {"status": "accepted", "session_status": "in_progress"}
    session = FormSession.objects.for_tenant(site.tenant).get()
    assert str(session.session_uuid) == body["session_id"]
    assert (session.form_id, session.path, session.status) == ("signup", "/signup", "in_progress")
    assert (session.batch_count, session.event_count) == (1, 3)
    chunk = TraceChunk.objects.for_tenant(site.tenant).get()
    assert chunk.events == body["events"] and chunk.seq == 0
    # started_at is placed on the server clock from sent_at; the last event 100 ms before it.
    assert (session.last_event_at - session.started_at).total_seconds() == pytest.approx(0.4)


def test_retried_batch_is_stored_once_and_answered_2xx(post, make_batch, site):
    body = make_batch()
    assert post(body).status_code == 202
    again = post(body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert TraceChunk.objects.for_tenant(site.tenant).count() == 1
    session = FormSession.objects.for_tenant(site.tenant).get()
    assert (session.batch_count, session.event_count) == (1, 3)


def test_a_retry_with_a_renewed_sent_at_is_still_a_duplicate(post, make_batch, site):
    body = make_batch()
    assert post(body).status_code == 202
    assert post({**body, "sent_at": body["sent_at"] + 5000}).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"events": [{"type": "focus", "field": "email", "ts": 100}]},
        {"form": {"id": "checkout", "path": "/signup"}},
        {"form": {"id": "signup", "path": "/other"}},
    ],
    ids=["other events", "other form", "other path"],
)
def test_a_reused_seq_with_other_content_is_409_and_keeps_the_first(post, make_batch, site, change):
    body = make_batch()
    assert post(body).status_code == 202
    response = post({**body, **change})
    assert response.status_code == 409
    assert f"seq 0 of session {body['session_id']} is already stored with other content" in detail(response)
    assert response["Access-Control-Allow-Origin"] == SITE_ORIGIN  # the snippet can read why
    chunk = TraceChunk.objects.for_tenant(site.tenant).get()
    assert chunk.events == body["events"]
    session = FormSession.objects.for_tenant(site.tenant).get()
    assert (session.batch_count, session.event_count, session.form_id) == (1, 3, "signup")


def test_a_chunk_stored_before_fingerprints_answers_a_reused_seq_as_a_duplicate(post, make_batch, site):
    body = make_batch()
    assert post(body).status_code == 202
    TraceChunk.all_tenants.update(fingerprint="")
    assert post({**body, "events": [{"type": "focus", "field": "email", "ts": 100}]}).status_code == 200


def test_batches_of_one_session_accumulate_out_of_order(post, make_batch, site):
    session_id = str(uuid.uuid4())
    for seq in (2, 0, 1):
        assert post(make_batch(session_id=session_id, seq=seq)).status_code == 202
    session = FormSession.objects.for_tenant(site.tenant).get()
    assert (session.batch_count, session.event_count) == (3, 9)
    assert list(session.chunks.values_list("seq", flat=True)) == [0, 1, 2]


def test_identify_sets_the_visitor_reference(post, make_batch, site):
    post(make_batch(visitor="crm-4821"))
    assert FormSession.objects.for_tenant(site.tenant).get().visitor_ref == "crm-4821"


# --- lifecycle ---------------------------------------------------------------


def events_ending_in(kind: str) -> list[dict]:
    return [
        {"type": "focus", "field": "email", "ts": 0},
        {"type": "input", "field": "email", "ts": 80},
        {"type": kind, "ts": 900},
    ]


def test_submit_marks_submitted(post, make_batch, site):
    response = post(make_batch(events=events_ending_in("submit")))
    assert response.json()["session_status"] == "submitted"
    session = FormSession.objects.for_tenant(site.tenant).get()
    assert session.status == "submitted" and session.submitted_at is not None


def test_exit_without_submit_marks_abandoned(post, make_batch, site):
    post(make_batch(events=events_ending_in("exit")))
    session = FormSession.objects.for_tenant(site.tenant).get()
    assert session.status == "abandoned" and session.abandoned_at is not None


def test_return_after_abandonment_that_submits_is_submitted_with_history(post, make_batch, site):
    session_id = str(uuid.uuid4())
    post(make_batch(session_id=session_id, seq=0, events=events_ending_in("exit")))
    later = [{"type": "focus", "field": "email", "ts": 60_000}, {"type": "submit", "ts": 61_000}]
    response = post(make_batch(session_id=session_id, seq=1, events=later, sent_at=61_500))
    assert response.json()["session_status"] == "submitted"
    session = FormSession.objects.for_tenant(site.tenant).get()
    assert session.status == "submitted" and session.abandoned_at is not None and session.submitted_at is not None
    assert session.chunks.count() == 2


def test_activity_after_abandonment_is_a_return_to_the_page(post, make_batch, site):
    # The page restored from the back-forward cache, or a swept visitor typing again: not abandoned any more.
    session_id = str(uuid.uuid4())
    post(make_batch(session_id=session_id, seq=0, events=events_ending_in("exit")))
    post(make_batch(session_id=session_id, seq=1, events=[{"type": "focus", "field": "email", "ts": 5000}], sent_at=5000))
    session = FormSession.objects.for_tenant(site.tenant).get()
    assert session.status == "in_progress" and session.returned_at is not None and session.abandoned_at is not None


def test_exit_after_submit_keeps_submitted(post, make_batch, site):
    session_id = str(uuid.uuid4())
    post(make_batch(session_id=session_id, seq=0, events=events_ending_in("submit")))
    post(make_batch(session_id=session_id, seq=1, events=[{"type": "exit", "ts": 2000}], sent_at=2000))
    assert FormSession.objects.for_tenant(site.tenant).get().status == "submitted"


# --- site key, origin and CORS ------------------------------------------------


def test_unknown_site_key_is_401(post, make_batch):
    response = post(make_batch(site_key="pk_doesnotexist"))
    assert response.status_code == 401 and detail(response) == "site_key: unknown site key"


def test_inactive_site_is_403(post, make_batch, site):
    site.is_active = False
    site.save()
    response = post(make_batch())
    assert response.status_code == 403 and detail(response) == "site is inactive"
    assert not FormSession.all_tenants.exists()


def test_wrong_origin_is_403_without_cors_headers(post, make_batch):
    response = post(make_batch(), origin="https://evil.example.net")
    assert response.status_code == 403
    assert "'https://evil.example.net' is not allowed" in detail(response)
    assert "Access-Control-Allow-Origin" not in response
    assert not FormSession.all_tenants.exists()


def test_missing_origin_is_403(post, make_batch):
    response = post(make_batch(), origin=None)
    assert response.status_code == 403 and detail(response) == "Origin header is required"


def test_another_tenants_origin_cannot_use_this_site_key(post, make_batch, other_site):
    response = post(make_batch(), origin=other_site.allowed_origins[0])
    assert response.status_code == 403


def test_accepted_response_allows_only_the_site_origin(post, make_batch):
    response = post(make_batch())
    assert response["Access-Control-Allow-Origin"] == SITE_ORIGIN
    assert "Origin" in response["Vary"]


def test_preflight_for_an_allowed_origin(site):
    response = Client().options(URL, HTTP_ORIGIN=SITE_ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SITE_ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_preflight_for_an_unknown_origin_gets_no_cors(site):
    response = Client().options(URL, HTTP_ORIGIN="https://evil.example.net", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in response


# --- limits and malformed input -------------------------------------------------


def test_body_over_64kb_is_413(post, make_batch):
    body = make_batch()
    raw = json.dumps(body).encode() + b" " * (64 * 1024)
    response = post(None, raw=raw)
    assert response.status_code == 413
    assert detail(response) == "request body is larger than 65536 bytes (FORMRECAP_INGEST_MAX_BODY_BYTES)"


def test_body_of_exactly_the_limit_is_read(post, make_batch, settings):
    raw = json.dumps(make_batch()).encode()
    settings.FORMRECAP_INGEST_MAX_BODY_BYTES = len(raw)
    assert post(None, raw=raw).status_code == 202


def test_more_than_500_events_is_400(post, make_batch):
    events = [{"type": "input", "field": "message", "ts": i} for i in range(501)]
    response = post(make_batch(events=events))
    assert response.status_code == 400 and detail(response) == "events: at most 500 events per batch, got 501"


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"{not json", "body is not valid JSON"), (b"  ", "body is not valid JSON"), (b"[1, 2]", "body must be a JSON object")],
)
def test_malformed_json_is_400(post, raw, message):
    response = post(None, raw=raw)
    assert response.status_code == 400 and message in detail(response)


def test_typed_value_is_refused_and_nothing_stored(post, make_batch):
    body = make_batch()
    body["events"][1]["value"] = "hunter2"
    response = post(body)
    assert response.status_code == 400 and detail(response).startswith("events[1].value: unknown key")
    assert not TraceChunk.all_tenants.exists()


def test_unsupported_content_type_is_415(post, make_batch):
    response = post(make_batch(), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and "Content-Type must be application/json or text/plain" in detail(response)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_in_json_naming_the_allowed_ones(site, method):
    # The view answers as plain Django (no DRF dispatch): the refusal must still be the API's JSON.
    response = Client().generic(method, URL)
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}
    assert response["Allow"] == "POST, OPTIONS"


def test_session_batch_cap_is_429(post, make_batch, site, settings):
    settings.FORMRECAP_SESSION_MAX_BATCHES = 2
    session_id = str(uuid.uuid4())
    for seq in range(2):
        assert post(make_batch(session_id=session_id, seq=seq)).status_code == 202
    response = post(make_batch(session_id=session_id, seq=2))
    assert response.status_code == 429 and "already has 2 batches" in detail(response)
    assert response["Access-Control-Allow-Origin"] == SITE_ORIGIN  # so the snippet can read it and stop
    # A retry of a batch that was stored before the cap is still a harmless duplicate.
    assert post(make_batch(session_id=session_id, seq=1)).status_code == 200


def test_session_event_cap_is_413(post, make_batch, settings):
    settings.FORMRECAP_SESSION_MAX_EVENTS = 5
    session_id = str(uuid.uuid4())
    assert post(make_batch(session_id=session_id, seq=0)).status_code == 202
    response = post(make_batch(session_id=session_id, seq=1))
    assert response.status_code == 413 and "would exceed 5 events (3 stored, 3 sent)" in detail(response)


def test_throttled_client_gets_429_with_retry_after_until_the_window_ends(post, make_batch, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "ingest", "3/min")
    monkeypatch.setattr(IngestRateThrottle, "timer", lambda self: 6000.0 + 45.5)  # 45.5 s into a minute
    responses = [post(make_batch()) for _ in range(4)]
    assert [response.status_code for response in responses] == [202, 202, 202, 429]
    assert responses[-1]["Retry-After"] == "15"
    assert FormSession.all_tenants.count() == 3
    monkeypatch.setattr(IngestRateThrottle, "timer", lambda self: 6000.0 + 60.0)  # the next minute
    assert post(make_batch()).status_code == 202


def test_empty_rate_means_unthrottled(post, make_batch, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "ingest", "")
    assert {post(make_batch()).status_code for _ in range(5)} == {202}


def test_same_session_uuid_on_two_sites_are_two_sessions(post, make_batch, site, other_site):
    session_id = str(uuid.uuid4())
    post(make_batch(session_id=session_id))
    post(make_batch(session_id=session_id, site_key=other_site.site_key), origin=other_site.allowed_origins[0])
    assert FormSession.objects.for_tenant(site.tenant).count() == 1
    assert FormSession.objects.for_tenant(other_site.tenant).count() == 1


# --- never a 500 --------------------------------------------------------------

json_leaves = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_leaves, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=12), kids, max_size=3), max_leaves=15
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arbitrary_bodies_never_cause_a_500(post, make_batch, data):
    body = make_batch()
    mutation = data.draw(st.sampled_from(["top", "event", "raw"]))
    if mutation == "top":
        body[data.draw(st.sampled_from([*body, "value"]))] = data.draw(json_values)
    elif mutation == "event":
        body["events"][data.draw(st.integers(0, 2))][
            data.draw(st.sampled_from(["type", "field", "ts", "value", "duration_ms"]))
        ] = data.draw(json_values)
    else:
        response = post(None, raw=data.draw(st.binary(max_size=200)))
        assert 400 <= response.status_code < 500
        return
    response = post(None, raw=json.dumps(body, allow_nan=True).encode())
    assert response.status_code < 500, response.content


def test_forged_forwarded_for_does_not_dodge_the_throttle(post, make_batch, monkeypatch):
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "ingest", "2/min")
    codes = [post(make_batch(), HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(3)]
    assert codes == [202, 202, 429]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(visitor="ana\ud800"), "visitor: contains control characters or invalid unicode"),
        (lambda b: b.update(visitor="ana\x00"), "visitor: contains control characters or invalid unicode"),
        (lambda b: b["form"].update(path="/x\x00"), "form.path: contains control characters"),
        (lambda b: b.update(site_key="pk_\ud800"), "site_key: contains control characters"),
        (lambda b: b.update(site_key="sk_secret"), "site_key: must look like pk_"),
        (lambda b: b.update({"\ud800": 1}), "\\ud800: unknown key"),
        (lambda b: b["events"][0].update({"\ud800": 1}), "events[0].\\ud800: unknown key"),
        (lambda b: b.update(sent_at=0), "sent_at: must not be before the last event (ts 400), got 0"),
    ],
)
def test_unstorable_strings_and_inconsistent_times_are_400(post, make_batch, mutate, message):
    body = make_batch()
    mutate(body)
    raw = json.dumps(body).encode()  # json.dumps escapes lone surrogates as \ud800, as JSON.stringify does
    response = post(None, raw=raw)
    assert response.status_code == 400 and message in detail(response)


def test_integer_too_long_to_convert_is_400(post, make_batch):
    raw = json.dumps(make_batch()).replace('"seq": 0', '"seq": ' + "9" * 5000).encode()
    response = post(None, raw=raw)
    assert response.status_code == 400 and detail(response).startswith("body is not valid JSON")


def test_last_event_time_is_capped_at_now(post, make_batch, site):
    from django.utils import timezone

    post(make_batch(events=[{"type": "focus", "field": "email", "ts": 5_000_000}], sent_at=5_000_000))
    session = FormSession.objects.for_tenant(site.tenant).get()
    assert session.last_event_at <= timezone.now()
