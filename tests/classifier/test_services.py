"""Classification services: classifying traces, recording API predictions, and classifying sessions once per model."""

import pytest
from django.utils import timezone

from classifier.backends import BackendUnavailable
from classifier.models import Prediction
from classifier.selectors import session_trace
from classifier.services import (
    classify_traces,
    prediction_for_session,
    predictions_create_for_request,
    sessions_abandoned,
)
from classifier.trace import parse_trace, serialise_trace
from formrecap.models import FormSession
from tests.classifier.helpers import VALIDATION_EVENTS, VALIDATION_TRACE, another_active_model, recorded_session
from tests.factories import TraceChunkFactory

TRACES = [VALIDATION_TRACE, "input:name(x9), input:email(x17), input:message(x400), submit", "focus:name, exit"]


def test_classify_traces_keeps_order_and_times_the_batch(active_embedded_model):
    traces = [parse_trace(text) for text in TRACES]
    result = classify_traces(traces=traces, backend_name="embedded")
    singles = [classify_traces(traces=[trace], backend_name="embedded").classifications[0] for trace in traces]
    assert [c.code for c in result.classifications] == [c.code for c in singles]
    assert result.classifications[0].label == "validation_error"
    assert result.backend == "embedded" and result.latency_ms > 0
    for classification in result.classifications:
        assert sum(classification.probabilities) == pytest.approx(1)
        assert classification.model_version_id == active_embedded_model.pk


def test_classify_traces_without_an_active_model_is_unavailable(db):
    with pytest.raises(BackendUnavailable, match="no active embedded model"):
        classify_traces(traces=[parse_trace("exit")], backend_name="embedded")


def test_unknown_backend_is_unavailable(db):
    with pytest.raises(BackendUnavailable, match="unknown backend 'nope'"):
        classify_traces(traces=[parse_trace("exit")], backend_name="nope")


def test_request_predictions_are_stored_under_the_tenant(tenant, other_tenant, active_embedded_model):
    result = classify_traces(traces=[parse_trace(text) for text in TRACES], backend_name="embedded")
    rows = predictions_create_for_request(tenant=tenant, result=result)
    assert len(rows) == len(TRACES)
    stored = Prediction.objects.for_tenant(tenant).order_by("pk")
    assert [p.code for p in stored] == [c.code for c in result.classifications]
    assert {(p.source, p.session_id, p.model_version_id) for p in stored} == {("api", None, active_embedded_model.pk)}
    assert sum(p.latency_ms for p in stored) == pytest.approx(result.latency_ms, abs=0.01)  # shares, rounded to µs
    assert not Prediction.objects.for_tenant(other_tenant).exists()


def test_abandoned_session_is_classified_once_per_model_version(site, active_embedded_model):
    session = recorded_session(site)
    first = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    assert (first.session, first.source, first.label, first.model_version) == (
        session,
        "session",
        "validation_error",
        active_embedded_model,
    )
    assert first.explanation["signals"] and first.calibrated
    # Redelivery: the stored row, nothing new.
    assert prediction_for_session(tenant=site.tenant, session_id=session.pk).pk == first.pk
    assert Prediction.objects.for_tenant(site.tenant).count() == 1
    # A new active model classifies it again, once.
    newer = another_active_model(active_embedded_model)
    second = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    assert second.pk != first.pk and second.model_version == newer
    assert prediction_for_session(tenant=site.tenant, session_id=session.pk).pk == second.pk
    assert Prediction.objects.for_tenant(site.tenant).count() == 2


@pytest.mark.parametrize(
    ("status", "events"),
    [("in_progress", VALIDATION_EVENTS), ("submitted", VALIDATION_EVENTS), ("abandoned", [])],
    ids=["in_progress", "submitted", "no_events"],
)
def test_sessions_with_nothing_to_classify_get_no_prediction(site, active_embedded_model, status, events):
    session = recorded_session(site, events, status=status)
    assert prediction_for_session(tenant=site.tenant, session_id=session.pk) is None
    assert not Prediction.objects.for_tenant(site.tenant).exists()


def test_another_tenants_session_is_not_classified(site, other_tenant, active_embedded_model):
    session = recorded_session(site)
    assert prediction_for_session(tenant=other_tenant, session_id=session.pk) is None
    assert not Prediction.all_tenants.exists()


def test_session_without_an_active_model_is_unavailable_and_stores_nothing(site):
    session = recorded_session(site)
    with pytest.raises(BackendUnavailable):
        prediction_for_session(tenant=site.tenant, session_id=session.pk)
    assert not Prediction.all_tenants.exists()


def test_session_trace_joins_batches_in_order(site):
    session = recorded_session(site, VALIDATION_EVENTS[:10])
    TraceChunkFactory(session=session, seq=1, events=VALIDATION_EVENTS[10:], event_count=len(VALIDATION_EVENTS) - 10)
    assert serialise_trace(session_trace(session=session)) == VALIDATION_TRACE.replace(", scroll:page(2000ms)", "")


def test_session_trace_survives_timestamps_stepping_back_between_batches(site, active_embedded_model):
    # Each batch is valid on its own (ingest checks batches one by one), but the second restarts its clock.
    session = recorded_session(
        site, [{"type": "focus", "field": "email", "ts": 5000}, {"type": "blur", "field": "email", "ts": 6000}]
    )
    TraceChunkFactory(session=session, seq=1, events=[{"type": "focus", "field": "name", "ts": 100}, {"type": "exit", "ts": 200}])
    session.event_count = 4
    session.save()
    assert serialise_trace(session_trace(session=session)) == "focus:email, blur:email, focus:name, exit"
    assert prediction_for_session(tenant=site.tenant, session_id=session.pk) is not None


def test_sessions_abandoned_enqueues_only_after_commit(site, active_embedded_model, django_capture_on_commit_callbacks):
    session = recorded_session(site)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sessions_abandoned(sessions=[(site.tenant_id, session.pk)])
        assert not Prediction.all_tenants.exists()
    assert len(callbacks) == 1
    callbacks[0]()  # the commit
    assert Prediction.objects.for_tenant(site.tenant).get().session == session


# --- a provisional reading racing the final one -----------------------------------------------------------


def _final_reading_lands_during(monkeypatch):
    """While the provisional reading of an exited session is being computed, a sweep abandons the session and its
    final reading completes."""
    from classifier import services

    real = services._timed_classify
    state = {"raced": False}

    def provisional_then_final(backend, traces):
        result = real(backend, traces)
        if not state["raced"]:
            state["raced"] = True
            session = FormSession.all_tenants.get()
            FormSession.all_tenants.filter(pk=session.pk).update(status=FormSession.Status.ABANDONED, abandoned_at=timezone.now())
            assert prediction_for_session(tenant=session.tenant, session_id=session.pk).final
        return result

    monkeypatch.setattr(services, "_timed_classify", provisional_then_final)


@pytest.mark.parametrize("stored_before", [False, True])
def test_a_provisional_reading_finishing_after_the_final_one_never_unmakes_it(
    site, active_embedded_model, monkeypatch, django_capture_on_commit_callbacks, stored_before
):
    session = recorded_session(site, status="exited")
    if stored_before:  # the page was hidden once already: a provisional row exists, the session grew since
        prediction_for_session(tenant=site.tenant, session_id=session.pk)
        TraceChunkFactory(session=session, seq=1, events=[{"type": "focus", "field": "email", "ts": 9000}], event_count=1)
        FormSession.all_tenants.filter(pk=session.pk).update(event_count=session.event_count + 1)
    _final_reading_lands_during(monkeypatch)
    with django_capture_on_commit_callbacks(execute=False) as planned:
        prediction_for_session(tenant=site.tenant, session_id=session.pk)
    [stored] = Prediction.objects.for_tenant(site.tenant).filter(session=session)
    assert stored.final
    assert planned  # the final reading's recovery plan is queued (the planner acts at most once per session)


def test_a_final_reading_that_meets_a_provisional_row_stored_meanwhile_makes_it_final(
    site, active_embedded_model, monkeypatch, django_capture_on_commit_callbacks
):
    from classifier import services

    session = recorded_session(site)
    real = services._timed_classify

    def provisional_row_stored_meanwhile(backend, traces):
        result = real(backend, traces)
        fields = services._prediction_fields(result.classifications[0], backend=result.backend, latency_ms=1)
        Prediction.objects.create(
            tenant=site.tenant, session=session, source=Prediction.Source.SESSION, events_seen=3, final=False, **fields
        )
        return result

    monkeypatch.setattr(services, "_timed_classify", provisional_row_stored_meanwhile)
    with django_capture_on_commit_callbacks(execute=False) as planned:
        prediction = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    stored = Prediction.objects.for_tenant(site.tenant).get(session=session)
    assert prediction.final and stored.final and stored.events_seen == session.event_count
    assert planned
