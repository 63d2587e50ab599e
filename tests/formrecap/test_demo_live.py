"""``GET /demo/reading/``: the live demo panel's reading of a session, stored or computed now, and every refusal as JSON.

Batches go through the real ingest endpoint; classification runs on the real (small) embedded model, after commit
(eager Celery) as in the embedded setup.
"""

import json
import uuid

import pytest
from django.test import Client

from classifier.models import Prediction
from formrecap.models import FormSession, Site
from tests.classifier.helpers import recorded_session
from tests.conftest import SITE_ORIGIN

# A visitor typing their email, failing its format twice, still on the page.
FIGHTING_THE_EMAIL = [
    {"type": "focus", "field": "email", "ts": 0, "kind": "email"},
    *({"type": "input", "field": "email", "ts": 200 + 150 * i} for i in range(8)),
    {"type": "blur", "field": "email", "ts": 1600, "validation": "invalid_format"},
    {"type": "focus", "field": "email", "ts": 2400, "kind": "email"},
    *({"type": "input", "field": "email", "ts": 2600 + 150 * i} for i in range(9)),
    {"type": "blur", "field": "email", "ts": 4100, "validation": "invalid_format"},
]


@pytest.fixture
def send(make_batch, django_capture_on_commit_callbacks):
    """Posts batch ``seq`` of session ``sid`` through the ingest API (after-commit work runs); returns the session."""

    def post(sid: str, seq: int, events: list[dict]) -> FormSession:
        body = make_batch(session_id=sid, seq=seq, events=events)
        with django_capture_on_commit_callbacks(execute=True):
            response = Client().generic(
                "POST", "/api/v1/ingest/", data=json.dumps(body), content_type="text/plain", HTTP_ORIGIN=SITE_ORIGIN
            )
        assert response.status_code == 202, response.content
        return FormSession.all_tenants.get(session_uuid=sid)

    return post


def read(site_key: str, session) -> tuple[int, dict]:
    response = Client().get("/demo/reading/", {"site_key": site_key, "session": str(session)})
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def stored(session: FormSession) -> list[Prediction]:
    return list(Prediction.objects.for_tenant(session.tenant).filter(session=session))


def test_a_session_in_progress_gets_a_live_provisional_reading_that_is_not_stored(site, send, active_embedded_model):
    sid = str(uuid.uuid4())
    session = send(sid, 0, FIGHTING_THE_EMAIL)

    code, body = read(site.site_key, sid)

    assert code == 200, body
    assert body["session"] == sid and body["status"] == "in_progress" and body["status_label"] == "In progress"
    assert body["event_count"] == len(FIGHTING_THE_EMAIL) and body["hidden"] is False
    assert body["admin_url"] == f"/admin/formrecap/formsession/{session.pk}/change/"
    reading = body["reading"]
    assert reading["final"] is False and reading["stored"] is False and reading["backend"] == "embedded"
    assert [p["code"] for p in reading["probabilities"]] == [1, 2, 3, 4, 5, 6]
    assert [p["class"] for p in reading["probabilities"]][0] == "validation_error"
    assert sum(p["probability"] for p in reading["probabilities"]) == pytest.approx(1, abs=1e-3)
    top = max(reading["probabilities"], key=lambda p: p["probability"])
    assert (reading["code"], reading["class"], reading["confidence"]) == (top["code"], top["class"], top["probability"])
    assert reading["explanation"]["reason"] and reading["model_version"] == active_embedded_model.label
    assert "live" in body["note"]
    assert stored(session) == []  # read, never written: recovery sees nothing


def test_a_hidden_tab_answers_with_its_stored_provisional_reading(site, send, active_embedded_model):
    sid = str(uuid.uuid4())
    send(sid, 0, FIGHTING_THE_EMAIL)
    session = send(sid, 1, [{"type": "hide", "ts": 4500}])
    [prediction] = stored(session)

    code, body = read(site.site_key, sid)

    assert code == 200 and body["hidden"] is True
    reading = body["reading"]
    assert reading["stored"] is True and reading["final"] is False and prediction.final is False
    assert reading["code"] == prediction.code and reading["events_seen"] == session.event_count
    assert [p["probability"] for p in reading["probabilities"]] == [
        pytest.approx(prediction.probabilities[str(code)], abs=1e-4) for code in range(1, 7)
    ]


def test_back_on_the_page_and_typing_the_stored_reading_gives_way_to_a_live_one(site, send, active_embedded_model):
    sid = str(uuid.uuid4())
    send(sid, 0, FIGHTING_THE_EMAIL)
    send(sid, 1, [{"type": "hide", "ts": 4500}])
    session = send(sid, 2, [{"type": "show", "ts": 9000}, {"type": "focus", "field": "email", "ts": 9100, "kind": "email"}])

    code, body = read(site.site_key, sid)

    assert code == 200 and body["hidden"] is False
    assert body["reading"]["stored"] is False and body["reading"]["events_seen"] == session.event_count
    assert len(stored(session)) == 1  # the provisional one stays stored, untouched


def test_a_session_abandoned_for_good_answers_with_its_final_reading(site, send, active_embedded_model):
    assert site.outreach_delay_seconds == 0  # an exit is final at once
    sid = str(uuid.uuid4())
    session = send(sid, 0, [*FIGHTING_THE_EMAIL, {"type": "exit", "ts": 5000}])
    assert session.status == FormSession.Status.ABANDONED

    code, body = read(site.site_key, sid)

    assert code == 200 and body["status"] == "abandoned"
    assert body["reading"]["final"] is True and body["reading"]["stored"] is True
    assert body["reading"]["code"] == stored(session)[0].code


def test_the_newest_stored_reading_wins(site, active_embedded_model, django_capture_on_commit_callbacks):
    from classifier.services import prediction_for_session

    session = recorded_session(site, status=FormSession.Status.EXITED)
    prediction = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    assert prediction.final is False
    FormSession.all_tenants.filter(pk=session.pk).update(status=FormSession.Status.ABANDONED)
    with django_capture_on_commit_callbacks(execute=False):
        final = prediction_for_session(tenant=site.tenant, session_id=session.pk)

    code, body = read(site.site_key, session.session_uuid)

    assert code == 200 and final.final is True
    assert body["reading"]["final"] is True and body["note"].startswith("final:")


def test_a_session_with_no_events_yet_is_waiting(site):
    session = recorded_session(site, [], status=FormSession.Status.IN_PROGRESS)

    code, body = read(site.site_key, session.session_uuid)

    assert code == 200 and body["reading"] is None and body["note"] == "waiting for events"


def test_without_a_model_the_answer_says_so(site, send):
    sid = str(uuid.uuid4())
    send(sid, 0, FIGHTING_THE_EMAIL)

    code, body = read(site.site_key, sid)

    assert code == 200 and body["reading"] is None and body["event_count"] == len(FIGHTING_THE_EMAIL)
    assert body["note"] == "no live reading: no active embedded model: run `python manage.py train_embedded`"


def test_a_site_on_a_remote_backend_gets_no_live_reading(site, send, active_embedded_model):
    # Each poll would be a paid or GPU call on a public endpoint: such sites are read only once a session is left.
    site.classifier_backend = Site.Backend.VLLM
    site.save(update_fields=["classifier_backend"])
    sid = str(uuid.uuid4())
    send(sid, 0, FIGHTING_THE_EMAIL)

    code, body = read(site.site_key, sid)

    assert code == 200 and body["reading"] is None and "vllm" in body["note"]


def test_a_sent_form_has_no_reading(site, send, active_embedded_model):
    sid = str(uuid.uuid4())
    send(sid, 0, [*FIGHTING_THE_EMAIL, {"type": "submit", "ts": 6000}])

    code, body = read(site.site_key, sid)

    assert code == 200 and body["status"] == "submitted" and body["reading"] is None
    assert "sent" in body["note"]


def test_a_foreign_sites_session_is_404_with_this_site_key(site, other_site, active_embedded_model):
    foreign = recorded_session(other_site, status=FormSession.Status.IN_PROGRESS)

    code, body = read(site.site_key, foreign.session_uuid)

    assert code == 404 and body == {"detail": f"no session {foreign.session_uuid} on this site (yet)"}
    assert read(other_site.site_key, foreign.session_uuid)[0] == 200  # its own key reads it


def test_an_unknown_session_is_404(site):
    code, body = read(site.site_key, uuid.uuid4())
    assert code == 404 and "no session" in body["detail"]


def test_an_unknown_site_key_is_404(site):
    session = recorded_session(site, status=FormSession.Status.IN_PROGRESS)
    code, body = read("pk_no_such_key", session.session_uuid)
    assert code == 404 and body == {"detail": "site_key: unknown site key"}


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "x" * 5000])
def test_a_malformed_session_id_is_400(site, bad):
    code, body = read(site.site_key, bad)
    assert code == 400 and body["detail"].startswith("session: ") and "is not a UUID" in body["detail"]
    assert len(body["detail"]) < 120  # the echo is cut short


@pytest.mark.parametrize(
    ("params", "detail"),
    [({"session": str(uuid.uuid4())}, "site_key is required"), ({"site_key": "k"}, "session is required")],
)
def test_missing_parameters_are_400(db, params, detail):
    response = Client().get("/demo/reading/", params)
    assert response.status_code == 400 and response.json()["detail"].startswith(detail)
