"""A session's page tells the story: the timeline folded from its raw events, the reading with all six
probabilities and the explanation, and what recovery did and what happened after."""

from django.urls import reverse

from classifier.services import prediction_for_session
from formrecap.session_timeline import session_timeline
from tests.classifier.helpers import recorded_session
from tests.formrecap.test_admin_operator_views import _fast_password_hashing, operator  # noqa: F401 - fixtures

EVENTS = [
    {"type": "focus", "field": "email", "kind": "email", "ts": 1000},
    *({"type": "input", "field": "email", "ts": 1000 + 150 * i} for i in range(1, 9)),
    {"type": "blur", "field": "email", "validation": "invalid_format", "ts": 2600},
    {"type": "hide", "ts": 3000},
    {"type": "show", "ts": 183_000},
    {"type": "scroll", "field": "page", "duration_ms": 9000, "ts": 192_000},
    {"type": "focus", "field": "phone", "ts": 193_000},
    {"type": "input", "field": "phone", "ts": 193_500},
    {"type": "blur", "field": "phone", "ts": 194_000},
    {"type": "exit", "ts": 195_000},
]


def test_the_timeline_folds_keystrokes_into_runs_and_names_failures_idle_and_absence():
    steps = [(step.clock, step.what, step.text) for step in session_timeline(EVENTS)]
    assert steps == [
        ("0:00", "focus", "entered email (email)"),
        ("0:00", "typing", "typed 8 key(s) in email (1.1 s)"),
        ("0:01", "failure", "email failed validation: invalid_format"),
        ("0:02", "hidden", "switched away (tab hidden)"),
        ("3:02", "hidden", "came back to the tab after 3 min"),
        ("3:11", "idle", "idle or scrolling for 9.0 s"),
        ("3:12", "focus", "entered phone"),
        ("3:12", "typing", "typed 1 key(s) in phone (one input)"),
        ("3:13", "left field", "left phone"),
        ("3:14", "exit", "left the page"),
    ]
    assert session_timeline([]) == []


def test_a_sessions_page_shows_its_reading_recovery_and_timeline(operator, site, active_embedded_model):  # noqa: F811
    session = recorded_session(site)
    prediction = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    page = operator.get(reverse("admin:formrecap_formsession_change", args=[session.pk])).content.decode()
    assert "Why they left" in page and f"<strong>validation error</strong> at {prediction.confidence:.2f}" in page
    for name in ("validation error", "distraction", "comparison shopping", "accidental exit", "bot", "committed leave"):
        assert f"<td>{name}</td>" in page  # all six probabilities, as numbers (bars are not the only cue)
    assert prediction.explanation["signals"][0] in page
    assert "no action" in page and "not back (yet)" in page
    assert "failed validation" in page and "left the page" in page


def test_the_page_says_what_recovery_did_and_what_happened_after(operator, site, active_embedded_model):  # noqa: F811
    from django.utils import timezone

    from formrecap.models import FormSession
    from recovery.models import ActionExecution, RecoveryRule

    session = recorded_session(site)
    prediction = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    rule = RecoveryRule.all_tenants.create(tenant=site.tenant, name="resume mail", action=RecoveryRule.Action.EMAIL)
    ActionExecution.all_tenants.create(
        tenant=site.tenant, session=session, rule=rule, action=RecoveryRule.Action.EMAIL, class_code=prediction.code,
        confidence=prediction.confidence, status=ActionExecution.Status.SUCCEEDED, prediction=prediction,
        run_after=timezone.now(), idempotency_key=f"t-{session.pk}", recovered_at=timezone.now(),
    )  # fmt: skip
    FormSession.all_tenants.filter(pk=session.pk).update(returned_at=timezone.now(), recovered_at=timezone.now())
    page = operator.get(reverse("admin:formrecap_formsession_change", args=[session.pk])).content.decode()
    assert "Re-engagement email: Succeeded (resume mail), recovered " in page
    assert "came back " in page and "submitted (recovered) " in page
