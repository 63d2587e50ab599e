"""Celery tasks that start and follow a training run: the Modal runner for real, Modal's side replaced by the
double (tests/training/modal_double.py), calibration and the gate for real on a tiny trained adapter.

The in-process tests run the tasks eagerly (the embedded setup: no worker waits on a timer, so nothing is
rescheduled); the worker tests at the end follow a run through Redis with real countdowns and retries.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.training.helpers import tiny_config
from tests.training.modal_double import script_run
from tests.workers import new_queue, require_redis_broker, tasks_sent_to_the_broker, worker_env
from training.models import ModelVersion, TrainingRun
from training.runs import training_run_create, training_run_enqueue
from training.tasks import poll_run_task, start_run_task

REPO = Path(__file__).resolve().parents[2]


def remote_run(dataset, tiny_base, scripts: Path, **double) -> TrainingRun:
    """A queued Modal run; ``double`` scripts how the Modal double answers for it."""
    run = training_run_create(dataset=dataset, runner="modal", config=tiny_config(tiny_base), triggered_by="test")
    script_run(scripts, run.pk, **double)
    return run


def start(run: TrainingRun) -> str:
    return start_run_task.apply(args=(run.pk,)).get()


def poll(run: TrainingRun, **options) -> str:
    return poll_run_task.apply(args=(run.pk,), **options).get()


def reloaded(run: TrainingRun) -> TrainingRun:
    run.refresh_from_db()
    return run


# --- in process (eager) --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_remote_run_is_submitted_polled_and_finished(
    modal_double, tiny_dataset, tiny_base, active_embedded_model, django_capture_on_commit_callbacks, monkeypatch, modal_scripts
):
    def no_base_here(*args, **kwargs):
        raise AssertionError("a remote run is calibrated from its read-out: the worker never loads the base")

    monkeypatch.setattr("training.runs.calibrate_adapter", no_base_here)
    run = remote_run(tiny_dataset, tiny_base, modal_scripts, running_polls=2)

    # Enqueued after commit: nothing starts while the transaction that created the run is open.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert training_run_enqueue(run=run)
    assert len(callbacks) == 1 and reloaded(run).status == "queued" and not modal_double.calls["spawn"]
    callbacks[0]()  # the commit: the start task runs (eagerly here)

    run = reloaded(run)
    [call_id] = modal_double.spawned
    assert (run.status, run.external_id) == ("running", call_id)
    assert run.started_at is not None and run.finished_at is None
    # What went to Modal: the dataset's two split files and the tiny base (a local folder) on the volume.
    [(uploads,)] = modal_double.calls["upload"]
    sent = modal_double.spawned[call_id]
    splits = sorted(Path(p).name for p in uploads.values() if p.endswith(".jsonl"))
    assert splits == ["test.jsonl", "train.jsonl", "validation.jsonl"]
    assert sent["config"]["base_model"].startswith("/artifacts/bases/") and sent["config"]["max_steps"] == 3
    # the held-out sets travel with the run: the GPU function reads them out after training
    assert {item["name"] for item in sent["held_out"]} >= {"hand_labelled"}
    assert all(item["records"] and item["sha256"] for item in sent["held_out"])
    assert f"submitted as {call_id}" in run.logs

    # Running twice (no worker here to wait: admin polls again), then finished.
    for _ in range(2):
        assert "poll it again from admin" in poll(run)
        assert reloaded(run).status == "running"
    outcome = poll(run)

    run = reloaded(run)
    assert run.status == "succeeded" and run.finished_at is not None and run.error == ""
    assert len(modal_double.calls["result"]) == 3 and len(modal_double.calls["download"]) == 1
    # Calibrated and evaluated from what the GPU function read out (T fitted here on its log-probs), registered,
    # and put through the gate.
    assert "calibrated from the modal read-out" in run.logs
    version = run.model_version
    assert version.kind == "lora" and version.artifact_uri == str(Path(sent["local_output_dir"]) / "adapter")
    assert version.temperature == pytest.approx(version.metrics["temperature"]) and version.temperature > 0
    assert {"validation", "test", "held_out"} <= set(version.metrics)
    assert version.metrics["held_out"]["hand_labelled"]["sha256"]  # measured on the file the gate compares by
    assert version.training_config["runner"] == "modal" and version.training_config["training_run"] == run.pk
    # Three steps on a random tiny model is no match for the live embedded model: the gate keeps it back.
    assert version.status == "candidate" and f"worse than {active_embedded_model.label}" in version.status_reason
    assert outcome == f"run {run.pk} succeeded: {version.label} (candidate; {version.status_reason})"
    assert run.losses["best_eval"] == modal_double.manifest["best_eval_loss"] and run.losses["train"]
    assert "registered " + version.label in run.logs


@pytest.mark.django_db
def test_redelivered_start_and_poll_change_nothing(modal_double, tiny_dataset, tiny_base, modal_scripts):
    run = remote_run(tiny_dataset, tiny_base, modal_scripts, running_polls=1)
    start(run)
    before = reloaded(run)

    # A redelivered start: the run is no longer queued, so nothing is submitted twice.
    assert start(run) == f"run {run.pk} is not queued: nothing to start"
    assert len(modal_double.spawned) == 1
    again = reloaded(run)
    assert (again.status, again.external_id, again.logs, again.started_at) == (
        before.status,
        before.external_id,
        before.logs,
        before.started_at,
    )

    poll(run)  # still running
    poll(run)  # finished
    finished = reloaded(run)
    versions = ModelVersion.objects.count()
    # A redelivered poll of a finished run: no call to Modal, no second registration, nothing written.
    assert poll(run) == f"run {run.pk} is not running: nothing to poll"
    assert len(modal_double.calls["result"]) == 2 and ModelVersion.objects.count() == versions == 1
    after = reloaded(run)
    assert (after.status, after.logs, after.finished_at, after.model_version_id) == (
        "succeeded",
        finished.logs,
        finished.finished_at,
        finished.model_version_id,
    )
    assert start(run) == f"run {run.pk} is not queued: nothing to start"


@pytest.mark.django_db
def test_modal_unreachable_while_polling_is_retried_then_fails_the_run_with_the_cause(
    modal_double, tiny_dataset, tiny_base, settings, modal_scripts
):
    settings.FORMRECAP_TRAINING_POLL_RETRIES = 3
    run = remote_run(tiny_dataset, tiny_base, modal_scripts, unreachable_polls=99)
    start(run)

    # Unreachable says nothing about the run: it stays running (eagerly there is no timer to retry on).
    assert "could not be polled now" in poll(run) and "could not be reached" in poll(run)
    assert reloaded(run).status == "running" and reloaded(run).error == ""
    # The last retry (a worker counts them in the message) gives up and records why.
    assert "could not be polled now" in poll(run, retries=2)
    outcome = poll(run, retries=3)

    run = reloaded(run)
    assert run.status == "failed" and run.finished_at is not None and run.model_version is None
    assert run.error.startswith("the runner could not be polled after 3 retries: Modal could not be reached")
    assert "no route to host" in run.error
    assert outcome == f"run {run.pk} failed: {run.error}"
    assert "failed: the runner could not be polled after 3 retries" in run.logs


@pytest.mark.django_db
def test_a_remote_failure_is_recorded_with_its_traceback(modal_double, tiny_dataset, tiny_base, modal_scripts):
    run = remote_run(tiny_dataset, tiny_base, modal_scripts, error="CUDA out of memory")
    start(run)

    assert poll(run) == f"run {run.pk} failed: RuntimeError: CUDA out of memory"
    run = reloaded(run)
    assert run.status == "failed" and run.error.startswith("Traceback")
    assert ModelVersion.objects.count() == 0


@pytest.mark.django_db
def test_a_run_that_cannot_reach_modal_at_start_fails_at_once(tiny_dataset, tiny_base, monkeypatch, tmp_path, modal_scripts):
    for name in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "absent.toml"))
    run = remote_run(tiny_dataset, tiny_base, modal_scripts)

    assert start(run) == f"run {run.pk} failed: {reloaded(run).error}"
    assert reloaded(run).status == "failed" and "Modal credentials missing" in reloaded(run).error


@pytest.mark.django_db
def test_one_poll_of_a_run_at_a_time(modal_double, tiny_dataset, tiny_base, modal_scripts):
    run = remote_run(tiny_dataset, tiny_base, modal_scripts, running_polls=5)
    start(run)
    cache.set(f"training:poll:{run.pk}", "another-task-id")

    assert poll(run) == f"run {run.pk} is being polled by another task"
    assert modal_double.calls["result"] == []
    # The same message delivered again (its first delivery was lost with the lock held) takes over.
    assert "is running" in poll(run, task_id="another-task-id")
    assert len(modal_double.calls["result"]) == 1 and cache.get(f"training:poll:{run.pk}") is None


@pytest.mark.django_db
def test_enqueue_starts_queued_runs_and_polls_running_remote_ones(
    modal_double, tiny_dataset, tiny_base, django_capture_on_commit_callbacks, modal_scripts
):
    run = remote_run(tiny_dataset, tiny_base, modal_scripts, running_polls=5)
    with django_capture_on_commit_callbacks(execute=True):
        training_run_enqueue(run=run)
    assert reloaded(run).status == "running" and len(modal_double.spawned) == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert training_run_enqueue(run=reloaded(run))
    assert len(modal_double.calls["result"]) == 1 and len(modal_double.spawned) == 1

    run.status = "failed"
    run.save()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert not training_run_enqueue(run=run)
    assert callbacks == []


def test_poll_interval_and_backoff_stay_below_the_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert max(settings.FORMRECAP_TRAINING_POLL_SECONDS, settings.FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS) < visibility


def test_tasks_are_named_and_acknowledged_late():
    for task in (start_run_task, poll_run_task):
        assert task.name.startswith("training.") and task.acks_late and task.reject_on_worker_lost


# --- through Redis, on a real worker ---------------------------------------------------------------


def on_a_worker(test):
    """Needs Redis, PostgreSQL (the worker is another process: committed rows) and a worker process."""
    for mark in (pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)):
        test = mark(test)
    return test


@pytest.fixture
def training_worker(on_postgres, tiny_adapter, tmp_path, modal_scripts):
    """A worker on a queue of its own, with the Modal double installed and short poll intervals."""
    require_redis_broker()
    queue = new_queue()
    call_log = tmp_path / "modal-calls.jsonl"
    call_log.touch()
    env = worker_env(**{
        "FORMRECAP_MODEL_DIR": str(settings.FORMRECAP_MODEL_DIR),
        "FORMRECAP_TRAINING_POLL_SECONDS": "1",
        "FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS": "2",
        "FORMRECAP_TRAINING_POLL_RETRIES": "2",
        "FORMRECAP_TEST_ADAPTER": str(tiny_adapter[0]),
        "FORMRECAP_TEST_CALL_LOG": str(call_log),
        "FORMRECAP_TEST_MODAL_SCRIPTS": str(modal_scripts),
        "MODAL_TOKEN_ID": "ak-test",
        "MODAL_TOKEN_SECRET": "as-test",
    })  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.training.modal_double", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        with tasks_sent_to_the_broker():
            yield queue, call_log
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        print(output[-5000:])  # shown by pytest when the test fails


def wait_until_ended(run: TrainingRun, timeout: float = 240) -> TrainingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in ("succeeded", "failed"):
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run.pk} still {run.status} after {timeout} s:\n{run.logs}")


def modal_calls(call_log: Path, name: str) -> list:
    return [entry[1:] for entry in map(json.loads, call_log.read_text().splitlines()) if entry[0] == name]


@on_a_worker
def test_worker_follows_a_remote_run_to_the_end_with_countdowns(training_worker, tiny_dataset, tiny_base, modal_scripts):
    queue, call_log = training_worker
    run = remote_run(tiny_dataset, tiny_base, modal_scripts, running_polls=2)

    start_run_task.apply_async((run.pk,), queue=queue)
    run = wait_until_ended(run)

    assert run.status == "succeeded", run.logs + run.error
    assert run.model_version is not None and run.model_version.kind == "lora"
    # Started once, polled on our queue until done: two "running" answers, then the result and its download.
    assert len(modal_calls(call_log, "spawn")) == 1
    assert modal_calls(call_log, "result") == [[run.external_id]] * 3
    assert len(modal_calls(call_log, "download")) == 1


@on_a_worker
def test_worker_retries_an_unreachable_modal_with_backoff_then_fails_the_run(
    training_worker, tiny_dataset, tiny_base, modal_scripts
):
    queue, call_log = training_worker
    run = remote_run(tiny_dataset, tiny_base, modal_scripts, unreachable_polls=99)

    started = time.monotonic()
    start_run_task.apply_async((run.pk,), queue=queue)
    run = wait_until_ended(run, timeout=60)

    assert run.status == "failed"
    assert run.error.startswith("the runner could not be polled after 2 retries: Modal could not be reached")
    # The first poll and two retries, 1 s then 2 s apart (plus the first poll's 1 s countdown).
    assert modal_calls(call_log, "result") == [[run.external_id]] * 3
    assert time.monotonic() - started >= 4
