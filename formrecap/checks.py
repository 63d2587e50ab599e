"""System checks of a production deployment (FORMRECAP_PROFILE=production), run by every `manage.py` command and,
since gunicorn runs none, by formrecap/wsgi.py before it serves: an error stops the process, naming the problem."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

# Caches whose counts live in one process (or one machine's disk): throttles and lockouts would count per process.
PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "a local-memory cache, private to each process",
    "django.core.cache.backends.dummy.DummyCache": "a dummy cache, which stores nothing",
    "django.core.cache.backends.filebased.FileBasedCache": "a file cache, private to each machine",
}


@checks.register(checks.Tags.caches)
def shared_cache_in_production(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.FORMRECAP_PROFILE != "production":
        return []
    backend = settings.CACHES["default"]["BACKEND"]
    if backend not in PROCESS_LOCAL_CACHES:
        return []
    return [
        checks.Error(
            f"the default cache is {PROCESS_LOCAL_CACHES[backend]} ({backend}): with several web processes the ingest "
            "throttle, and the login and API-key lockouts, would count per process and allow that many times the limit",
            hint="set REDIS_URL (e.g. redis://redis:6379/1), the cache every web process shares",
            id="formrecap.E001",
        )
    ]


def refuse_to_start_on_check_errors() -> None:
    """Raises with every error the system checks find; called where Django runs no checks (the WSGI app)."""
    errors = [message for message in checks.run_checks() if message.is_serious()]
    if errors:
        raise ImproperlyConfigured("FormRecap refuses to start:\n" + "\n".join(str(error) for error in errors))
