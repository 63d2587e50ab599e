"""Helpers for the action and delivery tests: executions as the decision leaves them, and a real webhook receiver."""

import json
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from classifier.models import Prediction
from formrecap.models import FormSession, Site, TraceChunk
from recovery.models import ActionExecution, RecoveryRule
from recovery.webhooks import webhook_secret_create
from tests.factories import FormSessionFactory

EXPLANATION = {"signals": ["idle 4 min after 3 fields", "3 fields filled without errors"], "reason": "Steady progress, then…"}


def probabilities(code: int, confidence: float) -> dict[str, float]:
    rest = round((1 - confidence) / 5, 6)
    return {str(c): (confidence if c == code else rest) for c in range(1, 7)}


def abandoned_session(site: Site, *, visitor_ref: str = "", events: list[dict] | None = None, code: int = 2, **fields):
    """An abandoned session of ``site`` with its events (one chunk) and a stored prediction of class ``code``."""
    now = timezone.now()
    fields = {"started_at": now, "last_event_at": now, "abandoned_at": now, **fields}
    session = FormSessionFactory(site=site, status=FormSession.Status.ABANDONED, visitor_ref=visitor_ref, **fields)
    if events:
        TraceChunk.all_tenants.create(session=session, seq=0, events=events, event_count=len(events))
        FormSession.all_tenants.filter(pk=session.pk).update(event_count=len(events), batch_count=1)
    Prediction.all_tenants.create(
        tenant=session.tenant,
        session=session,
        source=Prediction.Source.SESSION,
        backend="embedded",
        code=code,
        probabilities=probabilities(code, 0.9),
        confidence=0.9,
        calibrated=True,
        explanation=EXPLANATION,
        latency_ms=1.0,
    )
    return session


def rule_for(site: Site, action: str, *, with_secret: bool = False, **fields) -> tuple[RecoveryRule, str | None]:
    """A rule row (and its signing secret when asked), written directly: these tests are about delivery."""
    rule = RecoveryRule.all_tenants.create(tenant=site.tenant, site=site, action=action, **fields)
    return rule, (webhook_secret_create(rule=rule) if with_secret else None)


def scheduled_execution(
    session: FormSession, rule: RecoveryRule | None, *, delay_seconds: float = 0, **fields
) -> ActionExecution:
    """A scheduled execution as the decision writes it (recovery.services._plan_rule)."""
    prediction = session.predictions.order_by("-id").first()
    values = {
        "tenant": session.tenant,
        "session": session,
        "rule": rule,
        "prediction": prediction,
        "action": rule.action if rule else "review",
        "class_code": prediction.code,
        "confidence": prediction.confidence,
        "run_after": timezone.now() + timedelta(seconds=delay_seconds),
        "idempotency_key": f"{session.pk}:{rule.pk if rule else 'fallback'}",
        "detail": {"decision": "rule"},
        **fields,
    }
    return ActionExecution.all_tenants.create(**values)


# --- a webhook receiver -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    webhook_id: str
    verified: bool | None  # None when the receiver holds no secret
    status: int  # what it answered
    payload: dict


class Receiver(ThreadingHTTPServer):
    """A Standard Webhooks consumer on 127.0.0.1: checks signatures and acts once per ``webhook-id``.

    ``statuses`` are answered to the next requests in turn (then 200); ``first_delay`` seconds pass before the
    very first request is answered (a slow consumer: its effect happens after the wait, answered or not).
    ``accepted`` holds the one effect per id; ``requests`` every request, duplicates included.
    """

    daemon_threads = True

    def __init__(self, secret: str | None = None, *, statuses: list[int] | None = None, first_delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.secret = secret
        self.statuses = list(statuses or [])
        self.first_delay = first_delay
        self.requests: list[Request] = []
        self.accepted: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.first_request = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/formrecap"

    def redeliveries(self) -> int:
        """Requests that repeated an id already received (a retry or a resume): absorbed by the dedupe."""
        return len(self.requests) - len({r.webhook_id for r in self.requests})

    def ok_answers(self) -> Counter:
        """2xx answers per id: how often a consumer that did not dedupe would have acted."""
        return Counter(r.webhook_id for r in self.requests if 200 <= r.status < 300)

    def wait_for_requests(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.requests)} of {count} webhook requests after {timeout} s")
            time.sleep(0.02)

    def handle_error(self, request, client_address):
        pass  # a slow answer may go to a client (a killed worker) that is gone


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        verified = None
        if self.server.secret:
            try:
                Webhook(self.server.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        with self.server.lock:
            status = self.server.statuses.pop(0) if self.server.statuses else 200
            first = not self.server.first_request.is_set()
            self.server.first_request.set()
        if verified is False:
            status = 401
        if first and self.server.first_delay:
            time.sleep(self.server.first_delay)
        payload = json.loads(body)
        with self.server.lock:
            if 200 <= status < 300:
                self.server.accepted.setdefault(webhook_id, payload)  # the effect, once per id
            self.server.requests.append(Request(webhook_id, verified, status, payload))
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextmanager
def receiving(receiver: Receiver):
    thread = threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.shutdown()
        receiver.server_close()
        thread.join(5)
