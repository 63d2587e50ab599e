"""Django core: apps, middleware, database, cache, email, static files, logging (HTTPS: security.py)."""

from .env import BASE_DIR, env

SECRET_KEY = env("SECRET_KEY", default="django-insecure-embedded-demo-key-set-SECRET_KEY-in-production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "formrecap",
    "classifier",
    "training",
    "recovery",
    "notifications",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "formrecap.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "formrecap.api_io.ChunkedBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost, so that a view's database error becomes a 503 before anything else sees it.
    "formrecap.unavailable.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "formrecap.urls"
WSGI_APPLICATION = "formrecap.wsgi.application"
# Production runs formrecap.asgi under gunicorn's asgi worker: a request body not in within this many seconds
# of the request's start is answered 408, so stalled uploads hold a socket for a bounded time and no worker.
FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS = env.float("FORMRECAP_REQUEST_BODY_TIMEOUT_SECONDS", default=10.0)
# Threads per production server worker that run views (formrecap/wsgi_bridge.py), each with its own connection.
FORMRECAP_WEB_THREADS = env.int("FORMRECAP_WEB_THREADS", default=4)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
POSTGRESQL_ENGINES = ("django.db.backends.postgresql", "formrecap.postgresql")
# 0: under the ASGI server (formrecap.asgi) and threaded runserver each request's view runs on a thread of its own,
# so a persistent connection would never be reused, only left open until its thread is gone.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A pool of PostgreSQL connections per process (the production server, its image and docker/.env.example turn it
# on): each request borrows one instead of opening its own, which under the ASGI server would cost a connection
# (a new PostgreSQL backend) per request.
if env.bool("DB_POOL", default=False) and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections beside a pool
    # A borrowed connection idle for more than DB_POOL_CHECK_IDLE_SECONDS is checked (one round trip): after a
    # database restart the pool replaces its broken connections instead of failing a request with each. One used
    # moments ago is lent as it is (formrecap/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "formrecap.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_POOL_CHECK", default=True)
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=16),
        "timeout": env.float("DB_POOL_TIMEOUT_SECONDS", default=10.0),
    }
FORMRECAP_DB_POOL_CHECK_IDLE_SECONDS = env.float("DB_POOL_CHECK_IDLE_SECONDS", default=0.5)
if DATABASES["default"]["ENGINE"] in POSTGRESQL_ENGINES and env.bool("DB_PREPARED_STATEMENTS", default=True):
    # The ingest path's fixed statements (formrecap/ingest/statements.py, the only server-binding cursors: Django's
    # own never prepare) are prepared on each connection at first use. Off behind a transaction-mode pooler that
    # cannot carry prepared statements (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite in the embedded setup: wait for the write lock instead of failing at once.
    # IMMEDIATE takes the write lock when a transaction starts, so concurrent ingests queue
    # instead of failing with "database is locked" when a reader upgrades to a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="FormRecap <noreply@formrecap.local>")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING" if not DEBUG else "INFO"}},
}
