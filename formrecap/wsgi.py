"""WSGI entry point for gunicorn."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formrecap.settings")
application = get_wsgi_application()

if settings.FORMRECAP_PROFILE == "production":
    # gunicorn runs no system checks (runserver and manage.py do): a worker that would serve a broken deployment
    # (e.g. a per-process cache) fails to boot instead, and gunicorn exits naming the problem.
    from formrecap.checks import refuse_to_start_on_check_errors

    refuse_to_start_on_check_errors()
