"""Celery: eager in the embedded setup, Redis-brokered when CELERY_BROKER_URL is set."""

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .env import env

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Where tasks go without a queue of their own: classification, planning (a worker's follow-up tasks included).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Countdowns must stay below this; longer delays are scheduled by periodic dispatchers.
FORMRECAP_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": FORMRECAP_BROKER_VISIBILITY_TIMEOUT}

# Following a remote (Modal) training run: one poll every FORMRECAP_TRAINING_POLL_SECONDS. While Modal
# cannot be reached the poll backs off, doubling up to the cap, and the run fails after the last retry:
# with the defaults 60 + 120 + 240 + 480 + 960 + 1800 × 3 s ≈ 2 h of outage are ridden out.
FORMRECAP_TRAINING_POLL_SECONDS = env.int("FORMRECAP_TRAINING_POLL_SECONDS", default=60)
FORMRECAP_TRAINING_POLL_RETRIES = env.int("FORMRECAP_TRAINING_POLL_RETRIES", default=8)
FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS = env.int("FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS", default=1800)
if max(FORMRECAP_TRAINING_POLL_SECONDS, FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS) >= FORMRECAP_BROKER_VISIBILITY_TIMEOUT:
    # A countdown past the visibility timeout makes Redis hand the waiting poll to a second worker.
    raise ImproperlyConfigured(
        "FORMRECAP_TRAINING_POLL_SECONDS and FORMRECAP_TRAINING_POLL_MAX_BACKOFF_SECONDS must stay below "
        f"CELERY_VISIBILITY_TIMEOUT ({FORMRECAP_BROKER_VISIBILITY_TIMEOUT} s)"
    )

CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The DatabaseScheduler copies these entries into its tables at start; change them in admin (Periodic tasks).
CELERY_BEAT_SCHEDULE = {
    "sweep-inactive-sessions": {
        "task": "formrecap.sweep_inactive_sessions",
        "schedule": env.int("FORMRECAP_SWEEP_SECONDS", default=60),
    },
    "classify-unclassified-sessions": {
        "task": "classifier.classify_unclassified",
        "schedule": env.int("FORMRECAP_CLASSIFY_CATCH_UP_SECONDS", default=300),
    },
    "plan-unplanned-abandonments": {
        "task": "recovery.plan_unplanned",
        "schedule": env.int("FORMRECAP_PLAN_CATCH_UP_SECONDS", default=300),
    },
    "retrain-lora-adapter": {
        "task": "training.retrain_if_needed",
        # Daily, at a quiet hour (UTC): a run only starts when enough new operator labels exist.
        "schedule": crontab(minute=0, hour=env.int("FORMRECAP_RETRAIN_HOUR", default=3)),
    },
}

# Recovery actions (recovery/delivery.py). An action's message is sent once it is due within
# FORMRECAP_RECOVERY_MAX_COUNTDOWN; later ones are sent by the dispatcher below. A retryable failure waits
# base × 2^(attempt-1) with jitter (half fixed, half random), capped: with the defaults 30, 60, 120, 240, 480 s
# between the 6 attempts, about 15 min in all. A webhook endpoint is disabled after that many failed actions in a row.
FORMRECAP_RECOVERY_MAX_COUNTDOWN = env.int("FORMRECAP_RECOVERY_MAX_COUNTDOWN", default=15 * 60)
FORMRECAP_RECOVERY_MAX_ATTEMPTS = env.int("FORMRECAP_RECOVERY_MAX_ATTEMPTS", default=6)
FORMRECAP_RECOVERY_RETRY_BASE_SECONDS = env.float("FORMRECAP_RECOVERY_RETRY_BASE_SECONDS", default=30.0)
FORMRECAP_RECOVERY_RETRY_MAX_SECONDS = env.float("FORMRECAP_RECOVERY_RETRY_MAX_SECONDS", default=15 * 60.0)
FORMRECAP_WEBHOOK_DISABLE_AFTER = env.int("FORMRECAP_WEBHOOK_DISABLE_AFTER", default=10)
# The Celery queue of recovery actions (empty: the default queue). A queue of their own lets slow endpoints
# wait without holding up classification; its workers are started with -Q.
FORMRECAP_RECOVERY_QUEUE = env("FORMRECAP_RECOVERY_QUEUE", default="")
if max(FORMRECAP_RECOVERY_MAX_COUNTDOWN, FORMRECAP_RECOVERY_RETRY_MAX_SECONDS) >= FORMRECAP_BROKER_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "FORMRECAP_RECOVERY_MAX_COUNTDOWN and FORMRECAP_RECOVERY_RETRY_MAX_SECONDS must stay below "
        f"CELERY_VISIBILITY_TIMEOUT ({FORMRECAP_BROKER_VISIBILITY_TIMEOUT} s)"
    )
CELERY_BEAT_SCHEDULE["dispatch-due-recovery-actions"] = {
    "task": "recovery.dispatch_due",
    # Sends the actions that come due within FORMRECAP_RECOVERY_MAX_COUNTDOWN, and re-sends lost ones.
    "schedule": env.int("FORMRECAP_RECOVERY_DISPATCH_SECONDS", default=60),
}
