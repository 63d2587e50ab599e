"""seed_demo: idempotent, prints working credentials."""

import json

from django.core.management import call_command
from rest_framework.test import APIClient

from formrecap.models import ApiKey, Membership, Site, Tenant


def seed(capsys, *args) -> dict:
    call_command("seed_demo", "--json", "--skip-model", *args)
    return json.loads(capsys.readouterr().out)


def test_seed_prints_credentials_that_work(db, capsys, client):
    creds = seed(capsys)
    assert set(creds) == {"tenant", "site_key", "api_key", "admin_username", "admin_password"}
    assert creds["site_key"].startswith("pk_") and creds["api_key"].startswith("sk_")

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {creds['api_key']}")
    sites = api.get("/api/v1/sites/").json()
    assert [s["site_key"] for s in sites] == [creds["site_key"]]
    assert "http://127.0.0.1:8000" in sites[0]["allowed_origins"]

    assert client.login(username=creds["admin_username"], password=creds["admin_password"])
    assert client.get("/admin/formrecap/formsession/").status_code == 200
    # the pages the README points the demo operator to: training runs, model versions, comparisons
    for page in ("/admin/training/trainingrun/", "/admin/training/modelversion/", "/admin/training/modelcomparison/"):
        assert client.get(page).status_code == 200, page


def test_seed_is_idempotent(db, capsys):
    first = seed(capsys)
    second = seed(capsys)
    assert first == second
    tenant = Tenant.objects.get(slug="demo")
    assert Site.objects.for_tenant(tenant).count() == 1
    assert ApiKey.objects.for_tenant(tenant).filter(revoked_at__isnull=True).count() == 1
    assert Membership.objects.for_tenant(tenant).get().role == "owner"


def test_seed_adds_origins_without_dropping_old_ones(db, capsys):
    seed(capsys)
    seed(capsys, "--origin", "http://127.0.0.1:9000")
    site = Site.all_tenants.get(tenant__slug="demo")
    assert {"http://127.0.0.1:8000", "http://127.0.0.1:9000"} <= set(site.allowed_origins)


def test_new_secret_key_rotates_the_demo_key(db, capsys, settings):
    old = seed(capsys)["api_key"]
    settings.SECRET_KEY = "another-secret-key-for-this-test"
    new = seed(capsys)["api_key"]
    assert new != old
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {old}")
    assert api.get("/api/v1/sites/").status_code == 401


def test_text_output_names_everything(db, capsys):
    call_command("seed_demo", "--skip-model")
    out = capsys.readouterr().out
    for needle in ("/admin/", "/demo/", "pk_", "sk_", "login demo / "):
        assert needle in out


def test_seed_trains_an_embedded_model_when_none_is_active(db, capsys, settings):
    from training.models import ModelVersion

    settings.FORMRECAP_EMBEDDED_TRAIN_COUNT = 600
    call_command("seed_demo", "--json")
    active = ModelVersion.objects.get(status="active")
    assert active.kind == "embedded" and active.training_config["count"] == 600
    call_command("seed_demo", "--json")  # idempotent: no second model
    assert ModelVersion.objects.count() == 1


def test_seed_replaces_an_active_model_whose_files_are_gone(db, capsys, settings):
    import shutil
    from pathlib import Path

    from training.models import ModelVersion

    settings.FORMRECAP_EMBEDDED_TRAIN_COUNT = 600
    call_command("seed_demo", "--json")
    broken = ModelVersion.objects.get(status="active")
    shutil.rmtree(Path(broken.artifact_uri))
    call_command("seed_demo", "--json")
    active = ModelVersion.objects.get(status="active")
    assert active.pk != broken.pk and (Path(active.artifact_uri) / "model.json").exists()
