"""How session tasks ride out a database restart or failover: the task is retried with backoff (its work is
idempotent), instead of failing and waiting for the periodic catch-up. They run once per session, and nobody reads
what they return: no result is stored (one per session, kept a day in Redis), and publishing one costs no
subscription to its result (a fifth of a publish's CPU on the ingest path, bench/ingest.py)."""

from django.db import InterfaceError, OperationalError

RIDES_OUT_DATABASE_RESTARTS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    # 2, 4, 8, 16, 32 s (jittered): about a minute of outage before the catch-up tasks take over.
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
    "ignore_result": True,
}
