"""Webhook signing (checked by the independent ``standardwebhooks`` library), secret rotation, and delivery
to a real HTTP server on 127.0.0.1."""

import base64
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from recovery import ssrf, webhooks
from recovery.models import RecoveryRule, WebhookSecret
from recovery.webhooks import (
    active_secrets,
    deliver,
    new_secret,
    sign,
    signature_header,
    webhook_secret_create,
    webhook_secret_rotate,
)

BODY = b'{"session":"8d7c","class_code":2,"confidence":0.91}'


def headers_for(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


# --- signing ---------------------------------------------------------------------------------------


def test_new_secret_is_whsec_base64_of_random_bytes():
    secret = new_secret()

    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) <= 32
    assert new_secret() != secret


def test_sign_matches_the_standard_webhooks_test_vector():
    # The example from the Standard Webhooks specification.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_fresh_signature_verifies_with_standardwebhooks():
    secret, timestamp = new_secret(), int(time.time())

    verified = Webhook(secret).verify(BODY, headers_for("msg_1", timestamp, sign(secret, "msg_1", timestamp, BODY)))

    assert verified == json.loads(BODY)


def test_signature_ten_minutes_old_is_rejected_as_a_replay():
    secret, timestamp = new_secret(), int(time.time()) - 600

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers_for("msg_1", timestamp, sign(secret, "msg_1", timestamp, BODY)))


def test_signature_does_not_verify_for_another_body_or_secret():
    secret, timestamp = new_secret(), int(time.time())
    headers = headers_for("msg_1", timestamp, sign(secret, "msg_1", timestamp, BODY))

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(BODY.replace(b"0.91", b"0.99"), headers)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(new_secret()).verify(BODY, headers)


# --- secrets of a rule and rotation ------------------------------------------------------------------


@pytest.fixture
def rule(tenant):
    return RecoveryRule.all_tenants.create(
        tenant=tenant, action=RecoveryRule.Action.WEBHOOK, params={"url": "https://hooks.example.com/formrecap"}
    )


def test_created_secret_is_stored_for_the_rule(rule):
    secret = webhook_secret_create(rule=rule)

    assert list(WebhookSecret.objects.for_tenant(rule.tenant).values_list("rule", "secret", "expires_at")) == [
        (rule.pk, secret, None)
    ]
    assert active_secrets(rule) == [secret]


def test_during_the_overlap_both_secrets_sign_and_either_verifies(rule):
    old = webhook_secret_create(rule=rule)
    new = webhook_secret_rotate(rule=rule, overlap_seconds=3600)
    timestamp = int(time.time())

    assert active_secrets(rule) == [new, old]
    header = signature_header(active_secrets(rule), "msg_1", timestamp, BODY)
    assert len(header.split(" ")) == 2
    for receiver_secret in (old, new):
        assert Webhook(receiver_secret).verify(BODY, headers_for("msg_1", timestamp, header)) == json.loads(BODY)


def test_after_the_overlap_only_the_new_secret_signs(rule, monkeypatch):
    old = webhook_secret_create(rule=rule)
    new = webhook_secret_rotate(rule=rule, overlap_seconds=3600)
    later = timezone.now() + timedelta(seconds=3601)
    monkeypatch.setattr(webhooks.timezone, "now", lambda: later)
    timestamp = int(time.time())

    assert active_secrets(rule) == [new]
    headers = headers_for("msg_1", timestamp, signature_header(active_secrets(rule), "msg_1", timestamp, BODY))
    assert Webhook(new).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(old).verify(BODY, headers)


def test_rotation_keeps_an_earlier_expiry(rule):
    webhook_secret_create(rule=rule)
    webhook_secret_rotate(rule=rule, overlap_seconds=60)
    webhook_secret_rotate(rule=rule, overlap_seconds=86400)

    expiries = list(WebhookSecret.objects.for_tenant(rule.tenant).order_by("id").values_list("expires_at", flat=True))
    first, second, third = expiries
    assert third is None
    assert first < timezone.now() + timedelta(seconds=61)  # not pushed out to a day by the second rotation
    assert second > timezone.now() + timedelta(seconds=86000)


# --- delivery to a real local server ----------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HookHandler(BaseHTTPRequestHandler):
    """/ok 200, /unavailable 503, /busy 429, /bad 400, /redirect 302 to /target, /slow waits to be released."""

    STATUS = {"/ok": 200, "/unavailable": 503, "/busy": 429, "/bad": 400, "/redirect": 302, "/target": 200, "/slow": 200}

    def do_POST(self):
        self._answer(self.rfile.read(int(self.headers.get("content-length", 0))))

    def do_GET(self):
        self._answer(b"")

    def _answer(self, body: bytes) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.received.append(Received(self.command, self.path, headers, body))
        if self.path == "/slow":
            self.server.release.wait(10)
        self.send_response(self.STATUS.get(self.path, 404))
        if self.path == "/redirect":
            self.send_header("location", "/target")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class HookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), HookHandler)
        self.received: list[Received] = []
        self.release = threading.Event()
        self.sni_names: list[str] = []

    @property
    def port(self) -> int:
        return self.server_address[1]

    def handle_error(self, request, client_address):
        pass  # the slow handler writes to a client that has given up


@pytest.fixture
def loopback_allowed(settings):
    settings.DEBUG = True
    settings.FORMRECAP_WEBHOOK_ALLOW_LOOPBACK = True


@contextmanager
def serve(server: HookServer):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def hook_server(loopback_allowed):
    with serve(HookServer()) as server:
        yield server


def post(server: HookServer, path: str, **kwargs) -> webhooks.DeliveryResult:
    arguments = {"payload": {"event": "test"}, "secrets": [new_secret()], "msg_id": "msg_1", **kwargs}
    return deliver(url=f"http://127.0.0.1:{server.port}{path}", **arguments)


def test_2xx_is_ok(hook_server):
    assert post(hook_server, "/ok") == webhooks.DeliveryResult(ok=True, status_code=200, retryable=False, error="")


def test_request_carries_the_signed_compact_json_body(hook_server):
    secret = new_secret()
    payload = {"session": "8d7c0f", "class_code": 2, "confidence": 0.91, "explanation": "Prix trop élevé"}

    result = post(hook_server, "/ok", payload=payload, secrets=[secret], msg_id="exec_42")

    assert result.ok
    [request] = hook_server.received
    assert request.method == "POST"
    assert request.body == json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("FormRecap-Webhooks/")
    assert request.headers["webhook-id"] == "exec_42"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert Webhook(secret).verify(request.body, request.headers) == payload


def test_every_given_secret_signs_the_delivery(hook_server):
    old, new = new_secret(), new_secret()

    post(hook_server, "/ok", secrets=[new, old])

    [request] = hook_server.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(request.body, request.headers)


@pytest.mark.parametrize(
    ("path", "status", "retryable"), [("/unavailable", 503, True), ("/busy", 429, True), ("/bad", 400, False)]
)
def test_error_statuses_are_retryable_only_for_5xx_and_429(hook_server, path, status, retryable):
    result = post(hook_server, path)

    assert (result.ok, result.status_code, result.retryable) == (False, status, retryable)
    assert result.error == f"HTTP {status}"


def test_redirect_is_refused_and_not_followed(hook_server):
    result = post(hook_server, "/redirect")

    assert (result.ok, result.status_code, result.retryable) == (False, 302, False)
    assert result.error.startswith("redirect refused")
    assert [request.path for request in hook_server.received] == ["/redirect"]  # /target never hit


def test_a_server_slower_than_the_timeout_is_a_retryable_timeout(hook_server):
    started = time.monotonic()

    result = post(hook_server, "/slow", timeout=0.5)

    assert time.monotonic() - started < 5
    assert (result.ok, result.status_code, result.retryable) == (False, None, True)
    assert result.error.startswith("timed out after 0.5 s")


def test_a_closed_port_is_a_retryable_connection_error(loopback_allowed):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    result = deliver(url=f"http://127.0.0.1:{port}/ok", payload={}, secrets=[new_secret()], msg_id="msg_1")

    assert (result.ok, result.retryable) == (False, True)
    assert result.error.startswith("connection failed")


# --- the connection goes to the address that was checked -----------------------------------------


@pytest.fixture
def rebinding_dns(monkeypatch):
    """hooks.example.test resolves to 127.0.0.1 once, then to 10.0.0.1 (a DNS rebinding attack)."""
    answers = {"hooks.example.test": ["127.0.0.1", "10.0.0.1", "10.0.0.1"]}
    asked = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real_getaddrinfo(host, port, *args, **kwargs)  # IP literals, for socket.create_connection
        asked.append(host)
        ip = answers[host].pop(0)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", getaddrinfo)
    return asked


def test_delivery_connects_to_the_checked_address_and_keeps_the_host_header(hook_server, rebinding_dns):
    result = deliver(url=f"http://hooks.example.test:{hook_server.port}/ok", payload={}, secrets=[new_secret()], msg_id="m")

    assert result.ok
    assert rebinding_dns == ["hooks.example.test"]  # resolved once, by the guard; the later answer is never used
    [request] = hook_server.received
    assert request.headers["host"] == f"hooks.example.test:{hook_server.port}"


def make_certificate(folder, name: str) -> tuple[str, str]:
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
        + ["-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.fixture
def tls_server(loopback_allowed, rebinding_dns, tmp_path, monkeypatch):
    """An https server on 127.0.0.1 whose certificate names hooks.example.test (the client trusts only it)."""

    def start(certificate_name: str) -> HookServer:
        cert, key = make_certificate(tmp_path, certificate_name)
        server = HookServer()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda ssl_socket, name, _: server.sni_names.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        monkeypatch.setattr(webhooks, "_tls_context", lambda: ssl.create_default_context(cafile=cert))
        return running.enter_context(serve(server))

    with ExitStack() as running:
        yield start


def test_tls_uses_the_hostname_for_sni_and_certificate_while_connecting_to_the_checked_ip(tls_server):
    server = tls_server("hooks.example.test")

    result = deliver(url=f"https://hooks.example.test:{server.port}/ok", payload={}, secrets=[new_secret()], msg_id="m")

    assert result.ok, result.error
    assert server.sni_names == ["hooks.example.test"]
    assert server.received[0].headers["host"] == f"hooks.example.test:{server.port}"


def test_tls_certificate_for_another_name_fails(tls_server):
    server = tls_server("other.example.test")

    result = deliver(url=f"https://hooks.example.test:{server.port}/ok", payload={}, secrets=[new_secret()], msg_id="m")

    assert (result.ok, result.retryable) == (False, True)
    assert "CERTIFICATE_VERIFY_FAILED" in result.error
    assert server.received == []
