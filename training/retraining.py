"""Beat retraining: once enough operator labels have come in since the live adapter, train a new one.

The daily beat entry ``retrain-lora-adapter`` (formrecap/settings/tasks.py, editable in admin under
Periodic tasks) runs ``training.retrain_if_needed``. The run it queues is trained, calibrated,
evaluated on the held-out sets and put through the promotion gate like any other (training/runs.py).
With no held-out set available the gate can promote nothing, so no run is queued then.
"""

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from .held_out import held_out_sets_available, held_out_sets_missing
from .lora.config import AdapterTrainingConfig, ConfigError
from .lora.dataset import dataset_assemble, operator_examples, simulator_examples
from .models import Dataset, ModelVersion
from .runs import training_config_prepare, training_run_create, training_run_enqueue
from .selectors import (
    model_version_active,
    operator_labelled_traces,
    session_labels_created_since,
    training_run_in_flight,
    training_run_last_succeeded,
)

DATASET_NAME = "retrain"
TRIGGER = "beat retraining"
# Two checks at once (a second beat, a manual run) must not both queue a run.
LOCK_KEY = "training:retrain-check"
LOCK_SECONDS = 15 * 60


def _labels_count_from() -> tuple[datetime | None, str]:
    """From when new labels count: the later of the live adapter's activation and the last retraining's dataset."""
    marks = []
    active = model_version_active(kind=ModelVersion.Kind.LORA)
    if active is not None and active.activated_at is not None:
        marks.append((active.activated_at, f"since {active.label} went live"))
    last = training_run_last_succeeded(triggered_by=TRIGGER)
    if last is not None:
        marks.append((last.dataset.created_at, f"since {last.dataset} was assembled"))
    return max(marks, key=lambda mark: mark[0]) if marks else (None, "so far (no LoRA adapter live)")


def retraining_start_if_needed() -> str:
    """Queue a training run when FORMRECAP_RETRAIN_MIN_LABELS new operator labels exist and no run is in flight.

    New means created after the live LoRA adapter was activated, and after the dataset of the last
    retraining that succeeded: a candidate the gate kept back is not retrained daily on the same labels.
    Returns what it did, in a line.
    """
    since, basis = _labels_count_from()
    new_labels = session_labels_created_since(since=since)
    needed = settings.FORMRECAP_RETRAIN_MIN_LABELS
    if new_labels < needed:
        return f"{new_labels} new operator label(s) {basis}; retraining waits for {needed}"
    if not held_out_sets_available():
        # The gate would keep the adapter a candidate whatever it scores: a GPU run for nothing.
        missing = held_out_sets_missing()
        return f"{new_labels} new operator label(s) {basis}, but no held-out set is available ({missing}): not retraining"

    if not cache.add(LOCK_KEY, 1, timeout=LOCK_SECONDS):
        return "another retraining check is running"
    try:
        in_flight = training_run_in_flight()
        if in_flight is not None:
            busy = f"run {in_flight.pk} is {in_flight.status}"
            return f"{new_labels} new operator label(s) {basis}, but {busy}: not starting another"
        labelled = operator_labelled_traces()
        # A new seed per retraining, so each sees fresh simulated sessions; the manifest records it.
        seed = Dataset.objects.filter(name=DATASET_NAME).count() + 1
        examples = simulator_examples(settings.FORMRECAP_RETRAIN_SIMULATED, seed=seed) + operator_examples(labelled)
        config = AdapterTrainingConfig(
            base_model=settings.FORMRECAP_RETRAIN_BASE_MODEL, profile=settings.FORMRECAP_RETRAIN_PROFILE
        )
        try:
            training_config_prepare(config)  # checked before a dataset is assembled for it
        except ConfigError as exc:
            return f"not retraining: the FORMRECAP_RETRAIN_* settings cannot train ({exc})"
        with transaction.atomic():
            dataset = dataset_assemble(name=DATASET_NAME, examples=examples, seed=seed)
            run = training_run_create(
                dataset=dataset, runner=settings.FORMRECAP_RETRAIN_RUNNER, config=config, triggered_by=TRIGGER
            )
            training_run_enqueue(run=run)
    finally:
        cache.delete(LOCK_KEY)
    return (
        f"queued run {run.pk} on {dataset} ({run.runner} runner, {run.profile} profile, {run.base_model}): "
        f"{dataset.sources.get('operator', 0)} operator-labelled and {dataset.sources.get('simulator', 0)} simulated "
        f"examples; {new_labels} new operator label(s) {basis}"
    )
