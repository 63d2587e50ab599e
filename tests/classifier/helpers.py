"""Recorded sessions and registered model versions for the classifier tests (real rows, real model)."""

from formrecap.models import FormSession, Site
from tests.factories import FormSessionFactory, TraceChunkFactory
from training.models import ModelVersion
from training.services import model_version_activate, model_version_register

VALIDATION_TRACE = (
    "focus:email, input:email(x8), blur:email(invalid_format), focus:email, input:email(x9), "
    "blur:email(invalid_format), focus:email, input:email(x10), blur:email(invalid_format), scroll:page(2000ms), exit"
)
# A visitor fighting the email field, as the snippet records it (one input event per keystroke).
VALIDATION_EVENTS = [
    {"type": "focus", "field": "email", "ts": 0},
    *({"type": "input", "field": "email", "ts": 200 + 150 * i} for i in range(8)),
    {"type": "blur", "field": "email", "ts": 1600, "validation": "invalid_format"},
    {"type": "focus", "field": "email", "ts": 2400},
    *({"type": "input", "field": "email", "ts": 2600 + 150 * i} for i in range(9)),
    {"type": "blur", "field": "email", "ts": 4100, "validation": "invalid_format"},
    {"type": "focus", "field": "email", "ts": 4900},
    *({"type": "input", "field": "email", "ts": 5100 + 150 * i} for i in range(10)),
    {"type": "blur", "field": "email", "ts": 6800, "validation": "invalid_format"},
    {"type": "exit", "ts": 8000},
]


def recorded_session(site: Site, events: list[dict] | None = None, *, status: str = "abandoned", **fields) -> FormSession:
    """A session whose events are stored in one chunk, with counters as ingest keeps them."""
    events = VALIDATION_EVENTS if events is None else events
    session = FormSessionFactory(site=site, status=status, batch_count=1 if events else 0, event_count=len(events), **fields)
    if events:
        TraceChunkFactory(session=session, seq=0, events=events, event_count=len(events))
    return session


def another_active_model(model_version: ModelVersion) -> ModelVersion:
    """A newer version of the same artifact, made active (as a retraining would)."""
    newer = model_version_register(
        kind=model_version.kind,
        name=model_version.name,
        artifact_uri=model_version.artifact_uri,
        training_config=model_version.training_config,
        data_manifest=model_version.data_manifest,
        metrics=model_version.metrics,
        temperature=model_version.temperature,
    )
    return model_version_activate(model_version=newer)
