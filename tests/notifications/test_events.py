"""Each event operators are told about, driven through the code where it happens (the helpers of the recovery and
training tests): one notification each, however often the work that reports it runs again."""

import pytest
from django.core import mail
from django.urls import reverse

from notifications.models import Notification
from recovery.models import RecoveryRule, TenantRecoverySettings, UxAlert
from recovery.services import recovery_rule_update
from tests.recovery.actions import Receiver, abandoned_session, receiving, rule_for, scheduled_execution
from tests.recovery.test_delivery import deliver
from tests.recovery.test_handlers import failing, run, sessions_of
from tests.training.test_tasks import poll, reloaded, remote_run, start

Kind = Notification.Kind


def only(kind: str) -> list[Notification]:
    return list(Notification.all_tenants.filter(kind=kind))


# --- recovery: a UX alert opened, a webhook endpoint disabled ---------------------------------------------


@pytest.mark.django_db
def test_opening_a_ux_alert_tells_the_tenant_once(site, owner, django_capture_on_commit_callbacks):
    TenantRecoverySettings.all_tenants.create(tenant=site.tenant, ux_alert_threshold=0.3, ux_alert_min_sessions=5)
    rule, _ = rule_for(site, "ux_alert", class_code=1)
    sessions_of(site, 5, events=failing("password", "too_short"), code=1)

    with django_capture_on_commit_callbacks(execute=True):
        opened, _ = run(abandoned_session(site, events=failing("password", "too_short"), code=1), rule)
        updated, _ = run(abandoned_session(site, events=failing("password", "too_short"), code=1), rule)

    assert opened.detail["opened"] is True and updated.detail["opened"] is False
    alert = UxAlert.all_tenants.get()
    [notification] = only(Kind.UX_ALERT_OPENED)
    assert notification.tenant == site.tenant and notification.link == reverse("admin:recovery_uxalert_change", args=[alert.pk])
    assert "password" in notification.title and "6 of the 6 recently abandoned sessions" in notification.body
    assert "(most often too_short)" in notification.body
    [email] = mail.outbox
    assert email.to == [owner.email]


@pytest.fixture
def receiver(settings):
    settings.DEBUG = True
    settings.FORMRECAP_WEBHOOK_ALLOW_LOOPBACK = True
    with receiving(Receiver()) as server:
        yield server


@pytest.mark.django_db
def test_disabling_a_webhook_endpoint_tells_the_tenant_once_per_disabling(
    site, owner, receiver, settings, django_capture_on_commit_callbacks
):
    settings.FORMRECAP_WEBHOOK_DISABLE_AFTER = 2
    rule, receiver.secret = rule_for(site, "webhook", with_secret=True, params={"url": receiver.url})
    receiver.statuses = [400] * 3

    with django_capture_on_commit_callbacks(execute=True):
        results = [deliver(scheduled_execution(abandoned_session(site), rule)) for _ in range(3)]

    # The third execution finds the endpoint disabled and is skipped; nothing is told twice.
    assert results == ["failed", "failed", "skipped"]
    rule.refresh_from_db()
    [notification] = only(Kind.WEBHOOK_DISABLED)
    assert notification.tenant == site.tenant
    assert notification.link == reverse("admin:recovery_recoveryrule_change", args=[rule.pk])
    assert f"stopped calling {receiver.url} after 2 failed deliveries in a row" in notification.body
    assert [email.to for email in mail.outbox] == [[owner.email]]

    # A new URL re-enables the endpoint; failing again disables it again: a new event.
    recovery_rule_update(rule=RecoveryRule.all_tenants.get(pk=rule.pk), params={"url": f"{receiver.url}/v2"})
    receiver.statuses = [500, 500]
    settings.FORMRECAP_RECOVERY_MAX_ATTEMPTS = 1  # final at once: a 5xx would otherwise be retried
    with django_capture_on_commit_callbacks(execute=True):
        assert [deliver(scheduled_execution(abandoned_session(site), rule)) for _ in range(2)] == ["failed", "failed"]
    assert len(only(Kind.WEBHOOK_DISABLED)) == 2 and len(mail.outbox) == 2


# --- training: a run failed, a candidate held back by the gate ------------------------------------------


@pytest.mark.django_db
def test_a_failed_training_run_tells_the_superusers_once(
    modal_double, tiny_dataset, tiny_base, modal_scripts, superuser, owner, django_capture_on_commit_callbacks
):
    run = remote_run(tiny_dataset, tiny_base, modal_scripts, error="CUDA out of memory")
    with django_capture_on_commit_callbacks(execute=True):
        start(run)
        poll(run)
        assert poll(run) == f"run {run.pk} is not running: nothing to poll"  # redelivered: nothing more

    run = reloaded(run)
    assert run.status == "failed"
    [notification] = only(Kind.TRAINING_FAILED)
    assert notification.tenant is None  # training runs belong to no tenant: a superuser concern
    assert notification.title == f"Training run {run.pk} failed: RuntimeError: CUDA out of memory"
    assert "Traceback" in notification.body  # the cause, with where it came from
    assert notification.link == reverse("admin:training_trainingrun_change", args=[run.pk])
    [email] = mail.outbox
    assert email.to == [superuser.email]  # not the tenant owner


@pytest.mark.django_db
def test_a_run_that_cannot_start_tells_the_superusers_why(
    tiny_dataset, tiny_base, monkeypatch, tmp_path, modal_scripts, superuser, django_capture_on_commit_callbacks
):
    for name in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "absent.toml"))
    run = remote_run(tiny_dataset, tiny_base, modal_scripts)

    with django_capture_on_commit_callbacks(execute=True):
        start(run)

    [notification] = only(Kind.TRAINING_FAILED)
    assert "Modal credentials missing" in notification.title and len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_candidate_the_gate_holds_back_tells_the_superusers_which_figures_failed(
    modal_double, tiny_dataset, tiny_base, active_embedded_model, modal_scripts, superuser, django_capture_on_commit_callbacks
):
    run = remote_run(tiny_dataset, tiny_base, modal_scripts)
    with django_capture_on_commit_callbacks(execute=True):
        start(run)
        poll(run)
        poll(run)  # redelivered after the end: nothing more

    run = reloaded(run)
    version = run.model_version
    # Three steps on a random tiny model is no match for the live embedded model (tests/training/test_tasks.py).
    assert run.status == "succeeded" and version.status == "candidate"
    [notification] = only(Kind.CANDIDATE_HELD_BACK)
    assert notification.tenant is None
    assert notification.title == f"Candidate {version.label} held back by the promotion gate"
    assert f"worse than {active_embedded_model.label}" in notification.body and version.status_reason in notification.body
    assert notification.link == reverse("admin:training_modelversion_change", args=[version.pk])
    assert not only(Kind.TRAINING_FAILED)
    [email] = mail.outbox
    assert email.to == [superuser.email]
