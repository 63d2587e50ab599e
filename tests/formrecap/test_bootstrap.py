"""`manage.py bootstrap`: a fresh install gets its first operator, tenant and embedded model, once; bad or missing
admin settings are said plainly."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from formrecap.models import ApiKey, Membership, Site, Tenant
from training.models import ModelVersion


def bootstrap(*args) -> str:
    out = io.StringIO()
    call_command("bootstrap", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def admin_env(monkeypatch):
    monkeypatch.setenv("FORMRECAP_ADMIN_USERNAME", "ops")
    monkeypatch.setenv("FORMRECAP_ADMIN_PASSWORD", "a-long-and-unusual-passphrase-42")
    monkeypatch.setenv("FORMRECAP_TENANT_NAME", "Acme Insurance")


def test_a_fresh_install_gets_an_operator_a_tenant_and_a_model_once(db, admin_env, settings, tmp_path, client):
    settings.FORMRECAP_EMBEDDED_TRAIN_COUNT = 600
    first = bootstrap()
    assert "operator: ops created (superuser)" in first and "tenant: Acme Insurance (acme-insurance) created" in first
    assert "embedded model: " in first and "trained and activated" in first
    user = get_user_model().objects.get(username="ops")
    assert user.is_superuser and user.is_staff
    assert Membership.all_tenants.get(user=user).tenant.slug == "acme-insurance"
    assert ModelVersion.objects.filter(kind="embedded", status="active").count() == 1
    assert client.login(username="ops", password="a-long-and-unusual-passphrase-42")

    again = bootstrap()  # a restart: nothing is made twice, the password stays
    assert "operator: ops exists (password unchanged)" in again and "tenant: Acme Insurance exists" in again
    assert "trained" not in again
    assert Tenant.objects.count() == 1 and ModelVersion.objects.count() == 1


def test_without_admin_settings_the_rest_is_still_made(db, monkeypatch):
    monkeypatch.delenv("FORMRECAP_ADMIN_USERNAME", raising=False)
    out = bootstrap("--no-model")
    assert "operator: none made (set FORMRECAP_ADMIN_USERNAME and FORMRECAP_ADMIN_PASSWORD" in out
    assert Tenant.objects.get().name == "My company"
    monkeypatch.setenv("FORMRECAP_ADMIN_USERNAME", "ops")
    monkeypatch.setenv("FORMRECAP_ADMIN_PASSWORD", "")
    assert "operator: ops not made: FORMRECAP_ADMIN_PASSWORD is empty" in bootstrap("--no-model")
    assert not get_user_model().objects.exists()


def test_a_weak_password_is_refused_naming_why(db, admin_env, monkeypatch):
    monkeypatch.setenv("FORMRECAP_ADMIN_PASSWORD", "123")
    with pytest.raises(CommandError, match="FORMRECAP_ADMIN_PASSWORD is refused: .*too short"):
        bootstrap("--no-model")
    assert not get_user_model().objects.exists()


def test_reset_password_sets_it_from_the_environment_again(db, admin_env, monkeypatch, client):
    bootstrap("--no-model")
    monkeypatch.setenv("FORMRECAP_ADMIN_PASSWORD", "another-long-unusual-passphrase-7")
    assert "operator: ops's password reset" in bootstrap("--no-model", "--reset-password")
    assert client.login(username="ops", password="another-long-unusual-passphrase-7")


def test_the_compose_setup_bootstraps_after_migrate_and_keeps_models_on_a_volume():
    import yaml
    from django.conf import settings

    docker = settings.BASE_DIR / "docker"
    compose = yaml.safe_load((docker / "compose.yml").read_text())
    assert "python manage.py bootstrap" in " ".join(compose["services"]["migrate"]["command"])
    for service in ("migrate", "web", "worker", "beat"):
        assert "models:/data/models" in compose["services"][service]["volumes"], service
    assert "models" in compose["volumes"]
    env = dict(
        line.split("=", 1) for line in (docker / ".env.example").read_text().splitlines() if line and not line.startswith("#")
    )
    assert env["FORMRECAP_MODEL_DIR"] == "/data/models" and "FORMRECAP_ADMIN_USERNAME" in env
    assert "chown formrecap:formrecap /data/models" in (docker / "Dockerfile").read_text()


def test_one_command_makes_tenant_site_keys_and_operator_once(db, monkeypatch, settings, client):
    monkeypatch.setenv("FORMRECAP_ADMIN_PASSWORD", "a-long-and-unusual-passphrase-42")
    settings.FORMRECAP_PUBLIC_ORIGIN = "https://formrecap.acme.example"
    args = ["--no-model", "--tenant", "Acme", "--site", "Shop", "--origin", "https://Shop.Acme.example/",
            "--admin-username", "ops", "--admin-email", "ops@acme.example"]  # fmt: skip
    first = bootstrap(*args)
    tenant = Tenant.objects.get()
    site = Site.objects.for_tenant(tenant).get()
    assert tenant.name == "Acme" and site.name == "Shop" and site.allowed_origins == ["https://shop.acme.example"]
    tag = f'<script src="https://formrecap.acme.example/snippet/v1/formrecap.js" data-site-key="{site.site_key}" async></script>'
    assert f"install tag: {tag}" in first
    secret = re.search(r"API key: (sk_\S+) \(read, write; shown this once", first).group(1)
    assert get_user_model().objects.get(username="ops").email == "ops@acme.example"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert [s["site_key"] for s in api.get("/api/v1/sites/").json()] == [site.site_key]

    again = bootstrap(*args[:-4], "--origin", "https://www.acme.example")  # a second origin; everything else exists
    assert "site: Shop exists; origins added: https://www.acme.example" in again and f"install tag: {tag}" in again
    assert "API key: bootstrap exists" in again and "sk_" not in again
    site.refresh_from_db()
    assert site.allowed_origins == ["https://shop.acme.example", "https://www.acme.example"]
    assert Site.objects.for_tenant(tenant).count() == 1 and ApiKey.objects.for_tenant(tenant).count() == 1


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--site", "Shop"], "--site 'Shop' needs at least one --origin"),
        (["--origin", "https://shop.example"], "--origin needs --site"),
        (["--site", "Shop", "--origin", "shop.example/checkout"], "--origin: 'shop.example/checkout' is not an origin"),
    ],
)
def test_bad_site_arguments_are_refused_naming_the_problem(db, args, problem):
    with pytest.raises(CommandError, match=re.escape(problem)):
        bootstrap("--no-model", *args)
    assert not Tenant.objects.exists()
