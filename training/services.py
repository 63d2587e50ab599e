"""Writes to the model-version registry."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .models import ModelVersion


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


def model_version_activate(*, model_version: ModelVersion, reason: str = "") -> ModelVersion:
    """Make this version the active one of its kind; the previous active one is retired."""
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().filter(kind=model_version.kind, status=ModelVersion.Status.ACTIVE)
        current.exclude(pk=model_version.pk).update(status=ModelVersion.Status.RETIRED, status_reason=f"replaced by {model_version.label}")
        ModelVersion.objects.filter(pk=model_version.pk).update(
            status=ModelVersion.Status.ACTIVE, activated_at=timezone.now(), status_reason=reason
        )
    model_version.refresh_from_db()
    return model_version
