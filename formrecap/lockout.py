"""Brute-force lockouts: failed admin logins (per username and per client IP) and wrong API keys (per client IP).

Failures are counted in the shared cache (Redis in production, so every web process sees the same counts). A
subject that fails ``limit`` times within ``seconds`` is locked for ``seconds``: while locked, its attempts are
refused before the credential is checked, so the right password or key does not work either (otherwise the
answer to a right guess would differ from a wrong one, and guessing could go on). Successes are never counted.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

KEY_PREFIX = "formrecap:lockout"


def _now() -> float:
    return time.time()


def client_ip(request: HttpRequest) -> str:
    """The client's address as the ingest throttle sees it (X-Forwarded-For only through NUM_PROXIES proxies)."""
    return BaseThrottle().get_ident(request)


@dataclass(frozen=True)
class Subject:
    """One thing failures are counted for, e.g. ("admin-login-user", "alice")."""

    kind: str
    name: str
    limit: int
    seconds: int

    def _key(self, part: str) -> str:
        # Hashed: usernames are arbitrary text and cache backends restrict keys.
        digest = hashlib.sha256(self.name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"{KEY_PREFIX}:{self.kind}:{part}:{digest}"

    @property
    def count_key(self) -> str:
        return self._key("failures")

    @property
    def lock_key(self) -> str:
        return self._key("locked-until")


def lockout_remaining_seconds(subjects: list[Subject]) -> int:
    """Whole seconds until every subject is unlocked; 0 when none is locked."""
    now = _now()
    remaining = 0.0
    for subject in subjects:
        until = cache.get(subject.lock_key)
        if until is not None and until > now:
            remaining = max(remaining, until - now)
    return math.ceil(remaining)


def failure_record(subjects: list[Subject]) -> None:
    """Counts one failure for each subject, locking those that reach their limit."""
    now = _now()
    for subject in subjects:
        if subject.limit <= 0:  # 0 turns this lockout off
            continue
        # add + incr: atomic on Redis, so concurrent failures in several processes are all counted.
        cache.add(subject.count_key, 0, timeout=subject.seconds)
        try:
            failures = cache.incr(subject.count_key)
        except ValueError:  # the window expired between add and incr
            cache.set(subject.count_key, 1, timeout=subject.seconds)
            failures = 1
        if failures >= subject.limit:
            cache.set(subject.lock_key, now + subject.seconds, timeout=subject.seconds + 1)
            cache.delete(subject.count_key)


def failures_clear(subjects: list[Subject]) -> None:
    cache.delete_many([subject.count_key for subject in subjects])


def admin_login_subjects(*, username: str, ip: str) -> list[Subject]:
    seconds = settings.FORMRECAP_LOGIN_LOCKOUT_SECONDS
    return [
        Subject("admin-login-user", username, settings.FORMRECAP_LOGIN_FAILURES_PER_USER, seconds),
        Subject("admin-login-ip", ip, settings.FORMRECAP_LOGIN_FAILURES_PER_IP, seconds),
    ]


def api_key_subjects(*, ip: str) -> list[Subject]:
    return [Subject("api-key-ip", ip, settings.FORMRECAP_API_KEY_FAILURES_PER_IP, settings.FORMRECAP_API_KEY_LOCKOUT_SECONDS)]
