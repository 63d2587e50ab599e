"""Cloudflare Workers AI at the HTTP boundary: response bodies in the documented v4 envelope
(``{"result", "success", "errors", "messages"}``), and a scripted server that records every request it gets.

The envelope and the endpoints follow Cloudflare's API documentation; the error codes and message texts are the
kind Workers AI sends (10000 authentication, 3040 capacity, 5007 no such model/LoRA) written out for these tests.
"""

import json
import re
from dataclasses import dataclass, field
from email.parser import BytesParser

import httpx

ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
API_TOKEN = "cf-test-token"
API_ROOT = f"/client/v4/accounts/{ACCOUNT_ID}/ai"
FINETUNE_ID = "bc451aef-f723-4b26-a6b2-901afd2e7a8a"
GEMMA = "@cf/google/gemma-2b-it-lora"


def envelope(result, *, status: int = 200, errors: list[dict] | None = None, headers: dict | None = None) -> httpx.Response:
    body = {"result": result, "success": not errors, "errors": errors or [], "messages": []}
    return httpx.Response(status, json=body, headers=headers)


def run_answer(text: str) -> httpx.Response:
    """POST /ai/run/{model}: the generated text, with token usage as newer Workers AI answers carry it."""
    return envelope({"response": text, "usage": {"prompt_tokens": 212, "completion_tokens": 41, "total_tokens": 253}})


def model_format(code: int, name: str, confidence: float, reason: str = "The visitor compared plans.") -> str:
    return f"{code}\n" + json.dumps({"class": name, "reason": reason, "confidence": confidence})


BAD_TOKEN = envelope(None, status=401, errors=[{"code": 10000, "message": "Authentication error"}])
UNKNOWN_LORA = envelope(None, status=400, errors=[{"code": 5007, "message": "No such LoRA: finetune 'ft-missing' not found"}])
SERVER_ERROR = envelope(None, status=500, errors=[{"code": 3043, "message": "Internal server error"}])
BAD_GATEWAY_HTML = httpx.Response(502, text="<html><body>502 Bad Gateway</body></html>")


def capacity_exceeded(retry_after: str = "2") -> httpx.Response:
    return envelope(
        None,
        status=429,
        errors=[{"code": 3040, "message": "Capacity temporarily exceeded"}],
        headers={"Retry-After": retry_after},
    )


def finetune_created(name: str, model: str = GEMMA, description: str = "") -> httpx.Response:
    return envelope(
        {
            "id": FINETUNE_ID,
            "name": name,
            "description": description,
            "model": model,
            "public": False,
            "created_at": "2026-12-02T10:00:00.000Z",
            "modified_at": "2026-12-02T10:00:00.000Z",
        }
    )


def asset_uploaded(file_name: str) -> httpx.Response:
    return envelope({"id": f"asset-{file_name}", "finetune_id": FINETUNE_ID, "file_name": file_name})


@dataclass
class Recorded:
    method: str
    path: str
    headers: httpx.Headers
    json: dict | None = None
    form: dict[str, str] = field(default_factory=dict)  # multipart text fields
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # multipart field -> (filename, content)


def _multipart(request: httpx.Request) -> tuple[dict, dict]:
    message = BytesParser().parsebytes(
        b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n" + request.content
    )
    form, files = {}, {}
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        content = part.get_payload(decode=True)
        if filename is None:
            form[name] = content.decode()
        else:
            files[name] = (filename, content)
    return form, files


class ScriptedCloudflare:
    """Answers each request with the next scripted step: an httpx.Response, an exception to raise (a timeout),
    or a callable (request -> Response). Every request is recorded, with its JSON body or multipart parts."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.requests: list[Recorded] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        recorded = Recorded(request.method, request.url.path, request.headers)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            recorded.json = json.loads(request.content)
        elif content_type.startswith("multipart/form-data"):
            recorded.form, recorded.files = _multipart(request)
        self.requests.append(recorded)
        if not self.steps:
            return envelope(None, status=400, errors=[{"code": 0, "message": "the test script has no more answers"}])
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, type) and issubclass(step, httpx.TransportError):
            raise step("scripted", request=request)
        return step(request) if callable(step) else step

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def install(self, monkeypatch) -> "ScriptedCloudflare":
        """Route the product's Cloudflare client through this server."""
        monkeypatch.setattr("classifier.backends.cloudflare.http_transport", self.transport)
        return self


def prompt_trace(prompt: str) -> str:
    """The trace a run request asked about (``Events: ...`` in the chat-formatted prompt)."""
    return re.search(r"Events: (.*?)(?:<end_of_turn>| \[/INST\]|<\|eot_id\|>)", prompt, re.DOTALL)[1]


def configure(settings, **overrides) -> None:
    """Credentials and test-friendly limits in the settings (``settings`` is pytest-django's fixture)."""
    values = {
        "FORMRECAP_CLOUDFLARE_ACCOUNT_ID": ACCOUNT_ID,
        "FORMRECAP_CLOUDFLARE_API_TOKEN": API_TOKEN,
        "FORMRECAP_CLOUDFLARE_BASE_URL": "https://api.cloudflare.com/client/v4",
        "FORMRECAP_CLOUDFLARE_MODEL": "",
        "FORMRECAP_CLOUDFLARE_MAX_ATTEMPTS": 3,
        "FORMRECAP_CLOUDFLARE_CONCURRENCY": 1,  # requests in trace order, so scripts line up
    }
    for name, value in {**values, **overrides}.items():
        setattr(settings, name, value)
