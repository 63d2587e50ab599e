"""The production profile refuses to start without a cache shared by every process (the throttles and lockouts would
count per process), in manage.py commands and in the WSGI app gunicorn loads; the embedded setup runs without one."""

import pytest

from formrecap.checks import shared_cache_in_production
from tests.formrecap.test_security_settings import PRODUCTION_ENV, run_with_env

REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/1"}}


@pytest.mark.parametrize("backend", ["locmem.LocMemCache", "dummy.DummyCache", "filebased.FileBasedCache"])
def test_production_without_a_shared_cache_is_an_error_naming_it(settings, backend):
    settings.FORMRECAP_PROFILE = "production"
    settings.CACHES = {"default": {"BACKEND": f"django.core.cache.backends.{backend}", "LOCATION": "/tmp/unused"}}
    [error] = shared_cache_in_production(None)
    assert error.id == "formrecap.E001" and error.is_serious()
    assert backend in error.msg and "REDIS_URL" in error.hint


def test_production_with_redis_passes(settings):
    settings.FORMRECAP_PROFILE = "production"
    settings.CACHES = REDIS
    assert shared_cache_in_production(None) == []


def test_the_embedded_setup_runs_on_the_local_memory_cache(settings):
    assert settings.FORMRECAP_PROFILE == "embedded"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert shared_cache_in_production(None) == []


def without_redis() -> dict[str, str]:
    return {**PRODUCTION_ENV, "REDIS_URL": ""}


def test_manage_py_commands_refuse_to_run_in_production_without_redis():
    result = run_with_env("from django.core.management import execute_from_command_line; "
                          "execute_from_command_line(['manage.py', 'check'])", without_redis())  # fmt: skip
    assert result.returncode == 1
    assert "formrecap.E001" in result.stderr and "REDIS_URL" in result.stderr


@pytest.mark.parametrize("entry", ["formrecap.wsgi", "formrecap.asgi"])
def test_the_web_app_refuses_to_start_in_production_without_redis(entry):
    result = run_with_env(f"import {entry}", without_redis())
    assert result.returncode != 0
    assert "FormRecap refuses to start" in result.stderr and "formrecap.E001" in result.stderr

    assert run_with_env(f"import {entry}", PRODUCTION_ENV).returncode == 0


def test_an_unknown_profile_is_refused():
    result = run_with_env("import django; django.setup()", {**PRODUCTION_ENV, "FORMRECAP_PROFILE": "prod"})
    assert result.returncode != 0 and "FORMRECAP_PROFILE must be 'embedded' or 'production', got 'prod'" in result.stderr
