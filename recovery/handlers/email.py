"""``email``: a re-engagement email to the visitor, from the template of the session's class.

At most once: the email is marked "sending" (committed) before it is handed to the mail backend and "sent"
after, so a later attempt of the same execution either knows it went out, or cannot tell and does not send it
again (see recovery.delivery).
"""

import re
import smtplib
import socket

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.template.loader import render_to_string

from classifier.labels import CLASSES
from formrecap.models import FormSession

from ..models import ActionExecution
from .base import FAILED, SUCCEEDED, HandlerResult, execution_note, rule_params, skipped

NO_ADDRESS = "no email address for this visitor"
# Raised before the server took any message data: nothing was sent.
NOTHING_SENT = (
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError,
    ConnectionRefusedError,
    socket.gaierror,
)
# The server refused the message or a recipient: not sent; worth another try only for a 4xx (temporary) code.
REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def visitor_address(session: FormSession) -> str | None:
    """The visitor reference when it is an email address (sites identify visitors by whatever they like)."""
    ref = session.visitor_ref.strip()
    try:
        validate_email(ref)
    except ValidationError:
        return None
    return ref


def outreach_skip_reason(execution: ActionExecution) -> str | None:
    if execution.session.status == FormSession.Status.SUBMITTED:
        return "the visitor submitted the form before the action ran"
    if visitor_address(execution.session) is None:
        return NO_ADDRESS
    return None


def email_context(execution: ActionExecution) -> dict:
    session = execution.session
    resume_url = rule_params(execution).get("resume_url")
    return {
        "site_name": session.site.name,
        "form_id": session.form_id,
        "path": session.path,
        "class_name": CLASSES[execution.class_code],
        "resume_url": resume_url if isinstance(resume_url, str) and resume_url.startswith(("https://", "http://")) else "",
    }


def render_email(template_dir: str, context: dict) -> tuple[str, str]:
    subject = " ".join(render_to_string(f"recovery/emails/{template_dir}/subject.txt", context).split())
    return subject, render_to_string(f"recovery/emails/{template_dir}/body.txt", context)


def _message_id(execution: ActionExecution) -> str:
    # The same Message-ID for every attempt of this execution: mail systems that dedupe on it drop a repeat.
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "formrecap.local"
    return f"<recovery.{re.sub(r'[^A-Za-z0-9.-]', '.', execution.idempotency_key)}@{domain}>"


def _smtp_code(exc: Exception) -> int:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return min((code for code, _ in exc.recipients.values()), default=550)
    return getattr(exc, "smtp_code", 550)


def email_send_once(execution: ActionExecution, *, subject: str, body: str, detail: dict | None = None) -> HandlerResult:
    """Send one email to the session's visitor unless an earlier attempt may already have sent it."""
    to = visitor_address(execution.session)
    detail = {"to": to, "subject": subject, **(detail or {})}
    mark = execution.detail.get("delivery", {}).get("email")
    if mark == "sent":  # an earlier attempt sent it and stopped before recording its status
        return HandlerResult(SUCCEEDED, detail)
    if mark == "sending":
        return HandlerResult(
            FAILED,
            {**detail, "error": "an earlier attempt stopped while sending this email; not sent again (at most once)"},
        )
    message = EmailMessage(
        subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        [to],
        headers={"Message-ID": _message_id(execution), "X-FormRecap-Idempotency-Key": execution.idempotency_key},
    )
    execution_note(execution, email="sending")
    try:
        message.send()
    except NOTHING_SENT as exc:
        execution_note(execution, email=None)
        return HandlerResult(FAILED, {**detail, "error": f"mail server unavailable: {exc!r}"}, retryable=True)
    except REFUSED as exc:
        execution_note(execution, email=None)
        code = _smtp_code(exc)
        return HandlerResult(
            FAILED, {**detail, "error": f"refused by the mail server ({code}): {exc!r}"}, retryable=400 <= code < 500
        )
    # Any other error leaves the "sending" mark: the message may have gone out, so it is never sent again.
    execution_note(execution, email="sent")
    return HandlerResult(SUCCEEDED, detail)


def handle_email(execution: ActionExecution) -> HandlerResult:
    reason = outreach_skip_reason(execution)
    if reason:
        return skipped(reason)
    subject, body = render_email(CLASSES[execution.class_code], email_context(execution))
    return email_send_once(execution, subject=subject, body=body)
