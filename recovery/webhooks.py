"""Transport of the recovery ``webhook`` action: Standard Webhooks signatures, rule secrets with rotation,
and HTTP delivery over connections pinned to addresses the SSRF guard (recovery.ssrf) has checked.

Scheme: https://www.standardwebhooks.com (headers ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).
"""

import base64
import hashlib
import hmac
import json
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from secrets import token_bytes
from typing import Any

import certifi
import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import ssrf
from .models import RecoveryRule, WebhookSecret

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
USER_AGENT = "FormRecap-Webhooks/1.0"
DEFAULT_PORTS = {"https": 443, "http": 80}


# --- signing -------------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``, keyed with the secret's decoded bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature per valid secret, space-separated: during a rotation receivers holding either secret verify."""
    if not secrets:
        raise ValueError("a webhook needs at least one signing secret")
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


# --- secrets of a rule ---------------------------------------------------------------------------


def webhook_secret_create(*, rule: RecoveryRule) -> str:
    """Store a new signing secret for ``rule`` and return it: the only time it is shown."""
    secret = new_secret()
    WebhookSecret.objects.create(rule=rule, secret=secret)
    return secret


@transaction.atomic
def webhook_secret_rotate(*, rule: RecoveryRule, overlap_seconds: int = 86400) -> str:
    """A new secret for ``rule``; the current ones stay valid for ``overlap_seconds`` more, then expire."""
    if overlap_seconds < 0:
        raise ValueError("overlap_seconds must not be negative")
    # Serialise rotations of one rule, so two at once cannot both leave a never-expiring secret behind.
    RecoveryRule.objects.for_tenant(rule.tenant).select_for_update().filter(pk=rule.pk).first()
    expires_at = timezone.now() + timedelta(seconds=overlap_seconds)
    # A secret already due to expire sooner keeps its earlier date.
    _secrets_of(rule).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=expires_at)).update(expires_at=expires_at)
    return webhook_secret_create(rule=rule)


def active_secrets(rule: RecoveryRule) -> list[str]:
    """The secrets a delivery for ``rule`` is signed with now: not expired, newest first."""
    valid = _secrets_of(rule).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    return list(valid.order_by("-created_at", "-id").values_list("secret", flat=True))


def _secrets_of(rule: RecoveryRule):
    return WebhookSecret.objects.for_tenant(rule.tenant).filter(rule=rule)


# --- delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    status_code: int | None
    retryable: bool
    error: str = ""


class PinnedTransport(httpx.HTTPTransport):
    """Connects only to addresses the SSRF guard has just checked, resolving each request's host once.

    The TCP connection goes to a checked IP; the request keeps its hostname in the Host header and in TLS
    (httpcore's ``sni_hostname`` extension sets SNI and the name the certificate is verified against).
    Nothing resolves the name a second time, so a DNS answer that changes after the check (rebinding)
    cannot redirect the connection.
    """

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")
        port = request.url.port or DEFAULT_PORTS.get(request.url.scheme, 443)
        addresses = ssrf.checked_addresses(host, port, scheme=request.url.scheme)
        for address in addresses[:-1]:
            try:
                return super().handle_request(_pinned(request, address, host))
            except httpx.ConnectError:
                continue  # the host's next checked address
        return super().handle_request(_pinned(request, addresses[-1], host))


def _pinned(request: httpx.Request, address: str, host: str) -> httpx.Request:
    """``request`` sent to ``address``, still naming ``host`` in its Host header and TLS handshake."""
    return httpx.Request(
        request.method,
        request.url.copy_with(host=address),
        headers=request.headers,  # includes the original Host
        stream=request.stream,
        extensions={**request.extensions, "sni_hostname": host},
    )


@cache
def _tls_context() -> ssl.SSLContext:
    # Verifies certificates and hostnames against Mozilla's CA bundle, ignoring SSL_CERT_* environment overrides.
    return ssl.create_default_context(cafile=certifi.where())


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact UTF-8 JSON."""
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def deliver(
    *, url: str, payload: dict[str, Any], secrets: list[str], msg_id: str, timeout: float | None = None
) -> DeliveryResult:
    """POST ``payload`` to ``url``, signed with every secret in ``secrets``; one attempt, never raises for HTTP.

    2xx is ok; 5xx, 429, timeouts and connection errors are retryable; other 4xx, redirects (never followed)
    and refused addresses are not. ``timeout`` defaults to FORMRECAP_WEBHOOK_TIMEOUT_SECONDS.
    """
    if timeout is None:
        timeout = settings.FORMRECAP_WEBHOOK_TIMEOUT_SECONDS
    if not secrets:
        return DeliveryResult(ok=False, status_code=None, retryable=False, error="no active signing secret")
    try:
        ssrf.parse_webhook_url(url)
    except ssrf.UnsafeWebhookURL as exc:
        return DeliveryResult(ok=False, status_code=None, retryable=False, error=f"refused: {exc}")

    body = encode_payload(payload)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }
    # trust_env=False: an HTTP(S)_PROXY from the environment would make the proxy, not the checked address,
    # the connection's other end.
    transport = PinnedTransport(verify=_tls_context(), trust_env=False)
    try:
        with (
            httpx.Client(transport=transport, trust_env=False, follow_redirects=False, timeout=timeout) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            # The body is never read: nothing in it changes the outcome, and it may be large.
            status, location = response.status_code, response.headers.get("location", "")
    except ssrf.UnsafeWebhookURL as exc:
        return DeliveryResult(ok=False, status_code=None, retryable=False, error=f"refused: {exc}")
    except ssrf.HostNotFound as exc:
        return DeliveryResult(ok=False, status_code=None, retryable=True, error=str(exc))
    except httpx.TimeoutException as exc:
        return DeliveryResult(ok=False, status_code=None, retryable=True, error=f"timed out after {timeout:g} s ({exc!r})")
    except httpx.TransportError as exc:
        return DeliveryResult(ok=False, status_code=None, retryable=True, error=f"connection failed: {exc!r}")
    except httpx.InvalidURL:
        return DeliveryResult(ok=False, status_code=None, retryable=False, error="refused: not a valid URL")
    return _result_for_status(status, location)


def _result_for_status(status: int, location: str) -> DeliveryResult:
    if 200 <= status < 300:
        return DeliveryResult(ok=True, status_code=status, retryable=False)
    if 300 <= status < 400:
        target = location or "no location"
        return DeliveryResult(
            ok=False, status_code=status, retryable=False, error=f"redirect refused: HTTP {status} to {target} (not followed)"
        )
    retryable = status == 429 or status >= 500
    return DeliveryResult(ok=False, status_code=status, retryable=retryable, error=f"HTTP {status}")
