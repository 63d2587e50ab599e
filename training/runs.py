"""Training runs: queued → running → succeeded/failed, through a runner, then calibrate, register, gate.

The Celery tasks in training/tasks.py call these; so does `manage.py train_adapter`.
"""

import logging
import traceback
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from notifications import events as notification_events

from .held_out import held_out_sets_available
from .lora.calibrate import calibrate_adapter, calibration_from_readout, held_out_payload
from .lora.config import AdapterTrainingConfig, ConfigError, validate_config
from .lora.tiny import is_tiny_model
from .models import Dataset, ModelVersion, TrainingRun
from .promotion import promotion_gate_apply
from .services import model_version_register

logger = logging.getLogger(__name__)


def training_config_prepare(config: AdapterTrainingConfig) -> AdapterTrainingConfig:
    """The base's defaults applied and the config validated (ConfigError names the problem): the one rule the
    command, admin and beat's retraining share. A local folder stands in for a hub model; the randomly initialised
    tiny base (training/lora/tiny.py) must also learn its output layer, so it gets ``modules_to_save: [lm_head]``."""
    base = config.base_model.strip()
    if base and Path(base).exists():
        base = str(Path(base).resolve())
    config = replace(config, base_model=base)
    if is_tiny_model(base) and config.modules_to_save is None:
        config = replace(config, modules_to_save=["lm_head"])
    if config.max_length < 16 or config.learning_rate <= 0:
        raise ConfigError("max_length must be at least 16 and learning_rate positive")
    validate_config(config, base_is_local_stand_in=Path(base).is_dir())
    return config


def training_run_create(*, dataset: Dataset, runner: str, config: AdapterTrainingConfig, triggered_by: str = "") -> TrainingRun:
    """A queued run, its config prepared and validated first (training_config_prepare): nothing invalid is stored."""
    config = training_config_prepare(config)
    return TrainingRun.objects.create(
        dataset=dataset,
        runner=runner,
        profile=config.profile,
        base_model=config.base_model,
        config=config.as_dict(),
        triggered_by=triggered_by,
    )


def run_payload(run: TrainingRun) -> dict:
    """What a runner needs, JSON-able (it crosses to Modal). A remote run also takes the held-out sets, read out by
    the GPU function after training (calibration where the model runs); a local one is calibrated in-process."""
    payload = {
        "run_id": run.pk,
        "dataset_path": run.dataset.path,
        "config": run.config,
        "output_dir": str(Path(settings.FORMRECAP_MODEL_DIR) / "adapters" / f"run-{run.pk}"),
    }
    if run.runner != TrainingRun.Runner.LOCAL:
        payload["held_out"] = held_out_payload(held_out_sets_available())
    return payload


def _append_log(run: TrainingRun, line: str) -> None:
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
    entry = f"{stamp} {line}\n"
    # Appended in the database, so concurrent writers (start, poll, admin) never overwrite each other's lines.
    TrainingRun.objects.filter(pk=run.pk).update(logs=Concat(F("logs"), Value(entry)))
    run.logs = f"{run.logs}{entry}"


def training_run_claim(*, run_id: int) -> TrainingRun | None:
    """queued → running, once: a redelivered start task finds nothing to claim and returns None."""
    with transaction.atomic():
        claimed = TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.RUNNING, started_at=timezone.now()
        )
    return TrainingRun.objects.select_related("dataset").get(pk=run_id) if claimed else None


def training_run_fail(*, run: TrainingRun, error: str) -> TrainingRun:
    failed = TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING).update(
        status=TrainingRun.Status.FAILED, error=error[-5000:], finished_at=timezone.now()
    )
    _append_log(run, f"failed: {error.splitlines()[-1] if error else 'unknown error'}")
    run.refresh_from_db()
    if failed:  # this call ended the run (running → failed), so the operators are told once
        notification_events.training_failed(run)
    return run


def _on_volume(path: str | None) -> dict:
    return {"volume_adapter_path": path} if path else {}


def training_run_finish(
    *, run: TrainingRun, adapter_dir: str, manifest: dict, readout: dict | None = None, volume_adapter_path: str | None = None
) -> TrainingRun:
    """The adapter is trained: calibrate and evaluate it, register a candidate, apply the gate. Once per run: a
    redelivered poll that finds the run finished (or already holding a model version) changes nothing."""
    current = TrainingRun.objects.filter(pk=run.pk).values("status", "model_version_id").first()
    if current is None or current["status"] != TrainingRun.Status.RUNNING or current["model_version_id"]:
        run.refresh_from_db()
        return run
    _append_log(run, f"trained in {manifest.get('train_seconds', '?')} s, best eval loss {manifest.get('best_eval_loss')}")
    try:
        if readout is not None:  # read out where it ran (Modal's GPU): T and the figures from its numbers
            metrics = calibration_from_readout(readout)
            _append_log(
                run, f"calibrated from the {run.runner} read-out ({len(readout['validation']['labels'])} validation traces)"
            )
        else:
            local_base = run.base_model if Path(run.base_model).exists() else None
            metrics = calibrate_adapter(
                Path(adapter_dir), Path(run.dataset.path), held_out_sets=held_out_sets_available(), base_model=local_base
            )
    except Exception:  # noqa: BLE001 - any failure here is the run's failure, recorded with its cause
        return training_run_fail(run=run, error=traceback.format_exc())
    base_name = Path(run.base_model).name if Path(run.base_model).exists() else run.base_model.split("/")[-1]
    model_version = model_version_register(
        kind=ModelVersion.Kind.LORA,
        name=f"lora-{run.profile}-{base_name}".lower()[:100],
        artifact_uri=str(adapter_dir),
        training_config={**run.config, "runner": run.runner, "training_run": run.pk, **_on_volume(volume_adapter_path)},
        data_manifest={"dataset": str(run.dataset), "content_hash": run.dataset.content_hash, **manifest},
        metrics=metrics,
        temperature=metrics["temperature"],
    )
    promoted, reason = promotion_gate_apply(candidate=model_version)
    _append_log(run, f"registered {model_version.label}, T = {metrics['temperature']:.3f}; {reason}")
    losses = {
        "train": manifest.get("train_loss", []),
        "eval": manifest.get("eval_loss", []),
        "best_eval": manifest.get("best_eval_loss"),
    }
    TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING).update(
        status=TrainingRun.Status.SUCCEEDED, model_version=model_version, losses=losses, finished_at=timezone.now()
    )
    run.refresh_from_db()
    if not promoted:  # the run succeeded but nothing changed for visitors: the operators are told why
        notification_events.candidate_held_back(run, model_version)
    return run


def training_run_start(*, run_id: int) -> tuple[TrainingRun | None, bool]:
    """Claim and start a run. Returns (run, still_running): a local run finishes here, a remote one is polled."""
    from .lora.runners import RunnerUnavailable, get_runner

    run = training_run_claim(run_id=run_id)
    if run is None:
        return None, False
    _append_log(run, f"starting on the {run.runner} runner: {run.profile} profile, base {run.base_model}, dataset {run.dataset}")
    try:
        started = get_runner(run.runner).start(run_payload(run))
    except RunnerUnavailable as exc:
        return training_run_fail(run=run, error=str(exc)), False
    except Exception:  # noqa: BLE001 - the training itself failed: record it
        return training_run_fail(run=run, error=traceback.format_exc()), False
    except BaseException:
        # Interrupted (Ctrl-C, worker shutdown): record it, or the run would stay "running" for ever.
        training_run_fail(run=run, error="interrupted before the runner finished\n" + traceback.format_exc())
        raise
    if started.result is not None:
        return _finish_with(run, started.result), False
    TrainingRun.objects.filter(pk=run.pk).update(external_id=started.external_id)
    _append_log(run, f"submitted as {started.external_id}")
    run.refresh_from_db()
    return run, True


def training_run_poll(*, run_id: int) -> tuple[TrainingRun | None, bool]:
    """Check a remote run once. Returns (run, still_running)."""
    from .lora.runners import get_runner

    run = TrainingRun.objects.select_related("dataset").filter(pk=run_id, status=TrainingRun.Status.RUNNING).first()
    if run is None or not run.external_id:
        return run, False
    polled = get_runner(run.runner).poll(run.external_id)
    if not polled.done:
        return run, True
    if polled.error:
        return training_run_fail(run=run, error=polled.error), False
    return _finish_with(run, polled.result), False


def _finish_with(run: TrainingRun, result: dict) -> TrainingRun:
    """training_run_finish from a runner's result: the adapter, its manifest, a remote read-out, its volume path."""
    return training_run_finish(
        run=run,
        adapter_dir=result["adapter_dir"],
        manifest=result["manifest"],
        readout=result.get("readout"),
        volume_adapter_path=result.get("adapter_path") if result.get("location") == "modal" else None,
    )


def training_run_enqueue(*, run: TrainingRun) -> bool:
    """Hand the run to a worker once the current transaction commits: a queued run is started, a running remote
    run is polled (a lost poll chain, or the embedded setup, where no worker polls on a timer). False if neither."""
    from .tasks import poll_run_task, start_run_task

    if run.status == TrainingRun.Status.QUEUED:
        task = start_run_task
    elif run.status == TrainingRun.Status.RUNNING and run.external_id:
        task = poll_run_task
    else:
        return False
    run_id = run.pk
    transaction.on_commit(lambda: task.delay(run_id))
    return True


__all__ = [
    "training_run_create",
    "training_run_enqueue",
    "training_run_start",
    "training_run_poll",
    "training_run_finish",
    "training_run_fail",
]
