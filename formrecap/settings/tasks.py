"""Celery: eager in the embedded setup, Redis-brokered when CELERY_BROKER_URL is set."""

from .env import env

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Countdowns must stay below this; longer delays are scheduled by periodic dispatchers.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "sweep-inactive-sessions": {
        "task": "formrecap.sweep_inactive_sessions",
        "schedule": env.int("FORMRECAP_SWEEP_SECONDS", default=60),
    },
    "classify-unclassified-sessions": {
        "task": "classifier.classify_unclassified",
        "schedule": env.int("FORMRECAP_CLASSIFY_CATCH_UP_SECONDS", default=300),
    },
}
