"""Security: the production profile, HTTPS (HSTS, secure cookies), the Content-Security-Policy, and lockouts of
brute-forced admin logins and API keys."""

from django.core.exceptions import ImproperlyConfigured

from .env import env

# `embedded` (the default): one process (`make run`), anything goes. `production`: several web processes, so the
# deployment checks in formrecap/checks.py are errors that stop `manage.py` commands (migrate included) and the WSGI
# app from starting: a cache private to each process, for one. The image and docker/.env.example set it.
FORMRECAP_PROFILE = env("FORMRECAP_PROFILE", default="embedded")
if FORMRECAP_PROFILE not in ("embedded", "production"):
    raise ImproperlyConfigured(f"FORMRECAP_PROFILE must be 'embedded' or 'production', got {FORMRECAP_PROFILE!r}")

# HTTPS. Behind a TLS-terminating proxy that sends X-Forwarded-Proto, BEHIND_TLS_PROXY=1 turns everything on: plain
# HTTP is redirected, cookies travel only over TLS, and browsers are told to use HTTPS only (HSTS) for a year.
# Each setting can still be set on its own (e.g. SECURE_HSTS_SECONDS=300 while trying HTTPS out).
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=BEHIND_TLS_PROXY)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=BEHIND_TLS_PROXY)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=BEHIND_TLS_PROXY)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if BEHIND_TLS_PROXY else 0)
# Sent only with SECURE_HSTS_SECONDS. `preload` only allows the host to be submitted to the browsers' preload list
# (hstspreload.org); nothing is preloaded unless someone submits it.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Content-Security-Policy on every response (formrecap/csp.py); `{nonce}` is replaced by the request's nonce, which
# the templates' own inline scripts carry (`nonce="{{ request.csp_nonce }}"`). Scripts come only from this origin
# (admin, the demo's snippet, Swagger UI from drf-spectacular-sidecar); inline styles are allowed because admin and
# Swagger UI write style attributes. Empty: no header. FORMRECAP_CSP_REPORT_ONLY=1 sends it as report-only.
FORMRECAP_CSP = env(
    "FORMRECAP_CSP",
    default=(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
)
FORMRECAP_CSP_REPORT_ONLY = env.bool("FORMRECAP_CSP_REPORT_ONLY", default=False)

# Brute force (formrecap/lockout.py): this many failures within the lockout period lock the subject for that period
# (0: no lockout of that kind). Admin logins per username and per client IP; wrong API keys per client IP. The client
# IP needs NUM_PROXIES behind a proxy, or every client shares the proxy's address and its lockout.
FORMRECAP_LOGIN_FAILURES_PER_USER = env.int("FORMRECAP_LOGIN_FAILURES_PER_USER", default=5)
FORMRECAP_LOGIN_FAILURES_PER_IP = env.int("FORMRECAP_LOGIN_FAILURES_PER_IP", default=20)
FORMRECAP_LOGIN_LOCKOUT_SECONDS = env.int("FORMRECAP_LOGIN_LOCKOUT_SECONDS", default=15 * 60)
FORMRECAP_API_KEY_FAILURES_PER_IP = env.int("FORMRECAP_API_KEY_FAILURES_PER_IP", default=20)
FORMRECAP_API_KEY_LOCKOUT_SECONDS = env.int("FORMRECAP_API_KEY_LOCKOUT_SECONDS", default=15 * 60)
