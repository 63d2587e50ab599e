"""Admin login behind a brute-force lockout (formrecap/lockout.py): per username and per client IP.

A locked login answers 429 with Retry-After and a page saying when to try again, without checking the password.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from .lockout import admin_login_subjects, client_ip, failure_record, failures_clear, lockout_remaining_seconds


def _locked(request: HttpRequest, wait: int) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Too many failed logins",
        "wait_minutes": max(1, round(wait / 60)),
        "retry_at": timezone.now() + timedelta(seconds=wait),
        "failures_per_user": settings.FORMRECAP_LOGIN_FAILURES_PER_USER,
    }
    response = TemplateResponse(request, "admin/login_locked.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


@never_cache
def admin_login(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return admin.site.login(request)
    subjects = admin_login_subjects(username=request.POST.get("username", ""), ip=client_ip(request))
    wait = lockout_remaining_seconds(subjects)
    if wait:
        return _locked(request, wait)
    response = admin.site.login(request)
    if request.user.is_authenticated and response.status_code == 302:
        failures_clear(subjects[:1])  # the username's count only: one good account must not reset the IP's
    elif response.status_code == 200:  # the form came back with errors: a wrong password or username
        failure_record(subjects)
        wait = lockout_remaining_seconds(subjects)
        if wait:
            return _locked(request, wait)
    return response
