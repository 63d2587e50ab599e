"""The Content-Security-Policy header (Django 5.2 has none built in), with a fresh nonce per request.

The policy is settings.FORMRECAP_CSP; its `{nonce}` becomes ``request.csp_nonce``, which a template's own inline
script carries (``<script nonce="{{ request.csp_nonce }}">``) so that no other inline script runs.
"""

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        policy = settings.FORMRECAP_CSP
        header = "Content-Security-Policy-Report-Only" if settings.FORMRECAP_CSP_REPORT_ONLY else "Content-Security-Policy"
        if policy and header not in response:
            response[header] = policy.replace("{nonce}", request.csp_nonce)
        return response
