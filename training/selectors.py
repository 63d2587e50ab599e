"""Reads from the model-version registry."""

from datetime import datetime

from .models import ModelVersion, TrainingRun


def model_version_active(*, kind: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.ACTIVE).first()


def operator_labelled_traces(*, since=None) -> list[tuple[str, int]]:
    """(terse trace, class code) for every operator-labelled session with events, across tenants (training is global)."""
    from classifier.models import SessionLabel
    from classifier.selectors import session_trace
    from classifier.trace import TraceError, serialise_trace

    labels = SessionLabel.all_tenants.select_related("session").filter(session__event_count__gt=0)
    if since is not None:
        labels = labels.filter(updated_at__gte=since)
    pairs = []
    for label in labels:
        try:
            pairs.append((serialise_trace(session_trace(session=label.session)), label.code))
        except TraceError:
            continue  # an unreadable session teaches nothing
    return pairs


def session_labels_created_since(*, since: datetime | None = None) -> int:
    """How many operator labels were created after ``since`` (all of them when None), across tenants."""
    from classifier.models import SessionLabel

    labels = SessionLabel.all_tenants.all()
    return (labels.filter(created_at__gt=since) if since is not None else labels).count()


def training_run_in_flight() -> TrainingRun | None:
    """The oldest queued or running training run, or None."""
    in_flight = TrainingRun.objects.filter(status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING])
    return in_flight.order_by("created_at", "pk").first()


def training_run_last_succeeded(*, triggered_by: str) -> TrainingRun | None:
    """The most recent succeeded run with this trigger (e.g. "beat retraining"), with its dataset, or None."""
    runs = TrainingRun.objects.select_related("dataset").filter(status=TrainingRun.Status.SUCCEEDED, triggered_by=triggered_by)
    return runs.order_by("-created_at", "-pk").first()
