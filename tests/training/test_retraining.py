"""Beat retraining: enough new operator labels since the live adapter → a dataset, a run, trained, gated."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from classifier.models import SessionLabel
from formrecap.celery import app as celery_app
from tests.classifier.helpers import recorded_session
from tests.factories import SiteFactory
from tests.training.helpers import held_out_metrics, labelled_sessions, tiny_config
from training.models import Dataset, ModelVersion, TrainingRun
from training.retraining import retraining_start_if_needed
from training.runs import training_run_create
from training.services import model_version_activate, model_version_register
from training.tasks import retrain_if_needed_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _retraining_settings(settings, tiny_base):
    settings.FORMRECAP_RETRAIN_MIN_LABELS = 4
    settings.FORMRECAP_RETRAIN_SIMULATED = 48
    settings.FORMRECAP_RETRAIN_RUNNER = "local"
    settings.FORMRECAP_RETRAIN_PROFILE = "cloudflare"  # r=8 on q/v: the quicker profile on CPU
    settings.FORMRECAP_RETRAIN_BASE_MODEL = str(tiny_base)


def live_adapter() -> ModelVersion:
    version = model_version_register(
        kind=ModelVersion.Kind.LORA,
        name="lora-research-llama",
        artifact_uri="/artifacts/adapters/1",
        training_config={},
        data_manifest={},
        metrics=held_out_metrics(0.9, 0.03),
        temperature=0.8,
    )
    return model_version_activate(model_version=version)


def test_below_the_threshold_nothing_is_assembled(site, django_capture_on_commit_callbacks):
    labelled_sessions(site, 3)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = retraining_start_if_needed()
    assert outcome == "3 new operator label(s) so far (no LoRA adapter live); retraining waits for 4"
    assert not Dataset.objects.exists() and not TrainingRun.objects.exists() and callbacks == []


def test_only_labels_created_since_the_live_adapter_count(site, other_site):
    labels = labelled_sessions(site, 5)
    adapter = live_adapter()
    # Labels from before the adapter went live were (or could have been) in its training set.
    SessionLabel.all_tenants.filter(pk__in=[label.pk for label in labels]).update(
        created_at=adapter.activated_at - timedelta(minutes=1)
    )
    labelled_sessions(other_site, 3, seed=1)  # another tenant's: training is global, so they count

    assert retraining_start_if_needed() == (f"3 new operator label(s) since {adapter.label} went live; retraining waits for 4")
    assert not TrainingRun.objects.exists()


def test_no_second_run_while_one_is_in_flight(site, tiny_dataset, tiny_base, django_capture_on_commit_callbacks):
    labelled_sessions(site, 4)
    for status in ("queued", "running"):
        TrainingRun.objects.all().delete()
        busy = training_run_create(dataset=tiny_dataset, runner="local", config=tiny_config(tiny_base))
        TrainingRun.objects.filter(pk=busy.pk).update(status=status)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            outcome = retraining_start_if_needed()
        assert outcome == (
            f"4 new operator label(s) so far (no LoRA adapter live), but run {busy.pk} is {status}: not starting another"
        )
        assert list(TrainingRun.objects.all()) == [busy] and callbacks == []
        assert not Dataset.objects.filter(name="retrain").exists()


def test_enough_new_labels_train_calibrate_register_and_gate(
    site, other_site, active_embedded_model, settings, django_capture_on_commit_callbacks
):
    labelled_sessions(site, 3)
    labelled_sessions(other_site, 2, seed=1)
    unreadable = SiteFactory(tenant=site.tenant)
    empty = recorded_session(unreadable, [])  # a labelled session with no events teaches nothing
    SessionLabel.all_tenants.create(tenant=site.tenant, session=empty, code=6)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = retrain_if_needed_task.apply().get()

    [run] = TrainingRun.objects.all()
    dataset = run.dataset
    assert outcome.startswith(f"queued run {run.pk} on retrain:v1 (local runner, cloudflare profile, ")
    assert outcome.endswith("6 new operator label(s) so far (no LoRA adapter live)")
    assert (dataset.name, dataset.manifest["seed"]) == ("retrain", 1)
    assert 1 <= dataset.sources["operator"] <= 5 and dataset.sources["simulator"] > 20
    assert (run.status, run.runner, run.profile, run.base_model, run.triggered_by) == (
        "queued",
        "local",
        "cloudflare",
        settings.FORMRECAP_RETRAIN_BASE_MODEL,
        "beat retraining",
    )
    assert run.config["profile"] == "cloudflare" and run.config["epochs"] == 3
    assert len(callbacks) == 1  # started once the transaction commits

    callbacks[0]()  # the commit: the local runner trains here (eager), then calibration, registration, gate
    run.refresh_from_db()
    assert run.status == "succeeded", run.logs + run.error
    version = run.model_version
    assert version.kind == "lora" and version.data_manifest["dataset"] == "retrain:v1"
    assert run.losses["eval"] and run.losses["best_eval"] is not None
    assert version.status == "candidate" and f"worse than {active_embedded_model.label}" in version.status_reason

    # The next day, with no new labels: the candidate the gate kept back is not retrained on the same data.
    assert retraining_start_if_needed() == "0 new operator label(s) since retrain:v1 was assembled; retraining waits for 4"
    labelled_sessions(site, 4, seed=2)
    with django_capture_on_commit_callbacks(execute=False):
        assert retraining_start_if_needed().startswith("queued run ")
    assert Dataset.objects.get(name="retrain", version=2).manifest["seed"] == 2


def test_with_no_held_out_set_to_judge_an_adapter_by_nothing_is_trained(site, settings, tmp_path):
    settings.FORMRECAP_HELD_OUT_SETS = {"hand_labelled": tmp_path / "gone.jsonl"}
    labelled_sessions(site, 4)
    assert retraining_start_if_needed() == (
        "4 new operator label(s) so far (no LoRA adapter live), but no held-out set is available "
        f"(hand_labelled ({tmp_path / 'gone.jsonl'})): not retraining"
    )
    assert not Dataset.objects.exists() and not TrainingRun.objects.exists()


def test_retraining_is_on_the_daily_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["retrain-lora-adapter"]
    assert entry["task"] == retrain_if_needed_task.name == "training.retrain_if_needed"
    assert isinstance(entry["schedule"], crontab) and entry["schedule"].hour == {3} and entry["schedule"].minute == {0}
    assert retrain_if_needed_task.acks_late and retrain_if_needed_task.reject_on_worker_lost


@pytest.mark.django_db(transaction=True)  # the scheduler closes old connections, as beat does between ticks
def test_beat_copies_the_entry_into_its_tables_for_admin_to_edit():
    DatabaseScheduler(app=celery_app)  # what `celery beat` does at start with the DatabaseScheduler

    task = PeriodicTask.objects.get(name="retrain-lora-adapter")
    assert task.task == "training.retrain_if_needed" and task.enabled
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "3", "*")


def test_settings_that_cannot_train_assemble_nothing_and_say_why(site, settings, django_capture_on_commit_callbacks):
    settings.FORMRECAP_RETRAIN_BASE_MODEL = "some/unserved-model"  # the cloudflare profile refuses it
    labelled_sessions(site, 5)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = retraining_start_if_needed()
    assert outcome.startswith("not retraining: the FORMRECAP_RETRAIN_* settings cannot train (")
    assert "does not serve LoRA adapters for 'some/unserved-model'" in outcome
    assert not Dataset.objects.exists() and not TrainingRun.objects.exists() and callbacks == []
