"""Writes to the model-version registry."""

import uuid
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .embedded import MODEL_NAME, EmbeddedConfig, save_trained, train_embedded
from .held_out import METRICS_KEY, embedded_held_out_metrics, held_out_sets_available
from .models import ModelVersion
from .selectors import model_version_active


def model_version_register(
    *,
    kind: str,
    name: str,
    artifact_uri: str,
    training_config: dict,
    data_manifest: dict,
    metrics: dict,
    temperature: float,
) -> ModelVersion:
    """A new candidate, numbered after the last version of the same name."""
    with transaction.atomic():
        # Lock the name's rows so two registrations cannot take the same number.
        list(ModelVersion.objects.select_for_update().filter(name=name).values_list("pk", flat=True))
        last = ModelVersion.objects.filter(name=name).aggregate(last=Max("version"))["last"] or 0
        return ModelVersion.objects.create(
            kind=kind,
            name=name,
            version=last + 1,
            artifact_uri=artifact_uri,
            training_config=training_config,
            data_manifest=data_manifest,
            metrics=metrics,
            temperature=temperature,
        )


def model_version_activate(*, model_version: ModelVersion, reason: str = "", rollback: bool = False) -> ModelVersion:
    """Make this version the active one of its kind; the previous active one is retired and remembered as the one
    to roll back to (a rollback itself keeps the existing link, so repeated rollbacks walk back, not toggle).

    A LoRA version is first published to its serving targets (training/deployment.py): when that fails it does not
    go live (DeploymentFailed, the reason recorded on it) and the active version stays."""
    from .deployment import DeploymentFailed, model_version_deploy

    try:
        model_version_deploy(model_version=model_version)
    except DeploymentFailed as exc:
        ModelVersion.objects.filter(pk=model_version.pk).update(status_reason=f"not activated: deployment failed: {exc}")
        model_version.refresh_from_db()
        raise
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().filter(kind=model_version.kind, status=ModelVersion.Status.ACTIVE)
        previous = current.exclude(pk=model_version.pk).first()
        current.exclude(pk=model_version.pk).update(
            status=ModelVersion.Status.RETIRED, status_reason=f"replaced by {model_version.label}"
        )
        fields = {"status": ModelVersion.Status.ACTIVE, "activated_at": timezone.now(), "status_reason": reason}
        if not rollback and previous is not None:
            fields["previous_active"] = previous
        ModelVersion.objects.filter(pk=model_version.pk).update(**fields)
    model_version.refresh_from_db()
    return model_version


def model_version_held_out_record(*, model_version: ModelVersion, entries: dict[str, dict]) -> ModelVersion:
    """Add held-out entries (training/held_out.py) to the version's metrics, replacing those of the same sets."""
    with transaction.atomic():
        # Locked and merged in the database row, so two gates recording different sets keep both.
        locked = ModelVersion.objects.select_for_update().get(pk=model_version.pk)
        metrics = dict(locked.metrics or {})
        metrics[METRICS_KEY] = {**(metrics.get(METRICS_KEY) or {}), **entries}
        ModelVersion.objects.filter(pk=model_version.pk).update(metrics=metrics)
    model_version.refresh_from_db()
    return model_version


def model_version_deployment_record(*, model_version: ModelVersion, backend: str, record: dict) -> ModelVersion:
    """Set where (and whether) the version is served by ``backend``, e.g. its Cloudflare finetune; other backends'
    records are kept (merged in the locked row, like the held-out entries)."""
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=model_version.pk)
        deployments = {**(locked.deployments or {}), backend: record}
        ModelVersion.objects.filter(pk=model_version.pk).update(deployments=deployments)
    model_version.refresh_from_db()
    return model_version


def model_version_verbalized_calibration_set(*, model_version: ModelVersion, calibration: dict) -> ModelVersion:
    """Store the fitted stated-confidence map (training/verbalized.py); the Cloudflare backend applies it."""
    ModelVersion.objects.filter(pk=model_version.pk).update(verbalized_calibration=calibration)
    model_version.refresh_from_db()
    return model_version


def embedded_model_train_and_register(*, config: EmbeddedConfig, activate: bool | None = None) -> ModelVersion:
    """Train the embedded model, save it under FORMRECAP_MODEL_DIR, register it.

    ``activate=None`` activates only when no embedded model is active yet (first run, demo setup).
    """
    trained = train_embedded(config)
    # Stored with each file's fingerprint, so the promotion gate compares models on the same held-out sets.
    trained.metrics[METRICS_KEY] = embedded_held_out_metrics(trained.model, held_out_sets_available())
    folder = Path(settings.FORMRECAP_MODEL_DIR) / MODEL_NAME / uuid.uuid4().hex[:12]
    save_trained(trained, folder)
    model_version = model_version_register(
        kind=ModelVersion.Kind.EMBEDDED,
        name=MODEL_NAME,
        artifact_uri=str(folder),
        training_config=asdict(config),
        data_manifest=trained.manifest,
        metrics=trained.metrics,
        temperature=trained.model.temperature,
    )
    if activate or (activate is None and model_version_active(kind=ModelVersion.Kind.EMBEDDED) is None):
        model_version = model_version_activate(model_version=model_version, reason="trained and activated by train_embedded")
    return model_version


def embedded_model_ensure_usable(*, count: int) -> tuple[ModelVersion, bool]:
    """(active embedded model, whether it was trained now). Trains and activates one when none is active or the
    active one's files are gone (a wiped var/ folder), so the demo always classifies."""
    active = model_version_active(kind=ModelVersion.Kind.EMBEDDED)
    if active is not None and (Path(active.artifact_uri) / "model.json").exists():
        return active, False
    return embedded_model_train_and_register(config=EmbeddedConfig(count=count), activate=True), True
