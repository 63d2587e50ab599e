"""FormRecap project package and core app: tenants, sites, keys, sessions, ingest, snippet."""

from .celery import app as celery_app

__all__ = ["celery_app"]
