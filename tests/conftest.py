"""Shared fixtures: two tenants with a site and an API key each, and API clients for both."""

import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from formrecap.services import api_key_create
from tests.factories import SiteFactory, TenantFactory

SITE_ORIGIN = "https://shop.example.com"


@pytest.fixture(autouse=True)
def _clear_cache():
    # Throttle counters, the CORS origin cache and the ingest's sites are cached; tests must not share them.
    from django.core.cache import cache

    from formrecap.selectors import ingest_sites_forget

    cache.clear()
    ingest_sites_forget()
    yield
    cache.clear()
    ingest_sites_forget()


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    # Models trained by tests go to a temporary folder, never the checkout's var/models.
    settings.FORMRECAP_MODEL_DIR = tmp_path / "models"


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def site(tenant):
    return SiteFactory(tenant=tenant, allowed_origins=[SITE_ORIGIN])


@pytest.fixture
def other_site(other_tenant):
    return SiteFactory(tenant=other_tenant, allowed_origins=["https://globex.example.com"])


@pytest.fixture
def issued_key(tenant):
    return api_key_create(tenant=tenant, name="test key")


@pytest.fixture
def api_client(issued_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued_key.secret}")
    return client


@pytest.fixture
def other_api_client(other_tenant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(tenant=other_tenant, name='other key').secret}")
    return client


@pytest.fixture
def make_batch(site):
    """A valid batch body for ``site``; keyword arguments override top-level keys."""

    def build(**overrides) -> dict:
        body = {
            "site_key": site.site_key,
            "session_id": str(uuid.uuid4()),
            "seq": 0,
            "form": {"id": "signup", "path": "/signup"},
            "events": [
                {"type": "focus", "field": "email", "ts": 10},
                {"type": "input", "field": "email", "ts": 120},
                {"type": "blur", "field": "email", "ts": 400},
            ],
            "sent_at": 500,
        }
        body.update(overrides)
        if "sent_at" not in overrides and body["events"] and isinstance(body["events"][-1], dict):
            body["sent_at"] = max(body["sent_at"], body["events"][-1].get("ts", 0) + 100)
        return body

    return build


@pytest.fixture
def worker_queue(on_postgres):
    """A real Celery worker (solo pool) on a queue of its own, on the test database; yields the queue name."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.workers import new_queue, require_redis_broker, tasks_sent_to_the_broker, worker_env

    require_redis_broker()
    queue = new_queue()
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "formrecap", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=Path(__file__).resolve().parents[1], env=worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        with tasks_sent_to_the_broker():
            yield queue
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
        print(output[-3000:])  # shown by pytest when the test fails


@pytest.fixture
def on_postgres():
    if connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL, running on {connection.vendor} (use `make test`)")


# --- the embedded model, trained once per test run on a small simulated set ----------------

SMALL_MODEL_COUNT = 1500


@pytest.fixture(scope="session")
def embedded_artifact(tmp_path_factory):
    """(folder, TrainedEmbedded) of a small embedded model; training takes a few seconds."""
    from training.embedded import EmbeddedConfig, save_trained, train_embedded

    trained = train_embedded(EmbeddedConfig(count=SMALL_MODEL_COUNT, seed=3))
    folder = tmp_path_factory.mktemp("embedded-model")
    save_trained(trained, folder)
    return folder, trained


@pytest.fixture
def active_embedded_model(db, embedded_artifact):
    """The small model registered and active (a ModelVersion row)."""
    from training.models import ModelVersion
    from training.services import model_version_activate, model_version_register

    folder, trained = embedded_artifact
    model_version = model_version_register(
        kind=ModelVersion.Kind.EMBEDDED,
        name="embedded-lr-test",
        artifact_uri=str(folder),
        training_config={"count": SMALL_MODEL_COUNT, "seed": 3},
        data_manifest=trained.manifest,
        metrics=trained.metrics,
        temperature=trained.model.temperature,
    )
    return model_version_activate(model_version=model_version)
