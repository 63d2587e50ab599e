"""Reads from the model-version registry."""

from .models import ModelVersion


def model_version_active(*, kind: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.ACTIVE).first()


def operator_labelled_traces(*, since=None) -> list[tuple[str, int]]:
    """(terse trace, class code) for every operator-labelled session with events, across tenants (training is global)."""
    from classifier.models import SessionLabel
    from classifier.services import session_trace
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
