"""Strict parsing of one snippet batch.

Anything outside the schema is refused (an unknown key, a ``value`` field, a string
where a count belongs), so a modified snippet still cannot make us store what a
visitor typed. Every error names the offending field, e.g. ``events[3].ts``.
Values hidden in the strings that are allowed (field names, the path, the visitor
reference) are scrubbed, not refused, so the batch is kept (see scrub.py).
"""

import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from functools import cached_property, lru_cache

from .scrub import holds_card_number, scrub_emails, scrub_normalised_name, scrub_path

# hide/show: the tab went out of sight and came back (not an exit: the page is still there).
EVENT_TYPES = ("focus", "blur", "input", "scroll", "exit", "submit", "hide", "show")
FIELD_EVENTS = ("focus", "blur", "input")
MAX_TS_MS = 7 * 24 * 3600 * 1000  # a week: beyond it the number is not a session timestamp
MAX_VISITOR_REF = 256
FORM_ID_RE = re.compile(r"^[A-Za-z0-9_\-:.]{1,128}$")
SITE_KEY_RE = re.compile(r"^pk_[A-Za-z0-9_-]{1,61}$")
ANONYMOUS_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
# Snippet copies cached before a fix send "validation": null for a failure they could not name.
UNNAMED_REASON = "invalid"
FIELD_RE = re.compile(r"^[a-z0-9_]{1,64}$")
REASON_RE = re.compile(r"^[a-z0-9_]{1,64}$")
# What a field is, from HTML semantics only (input type, autocomplete token, tag): never from its value.
FIELD_KINDS = ("email", "tel", "password", "number", "date", "file", "checkbox", "radio", "select", "textarea", "text", "region")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

TOP_LEVEL_KEYS = {"site_key", "session_id", "seq", "form", "events", "sent_at", "visitor", "anonymous_id"}
REQUIRED_TOP_LEVEL = TOP_LEVEL_KEYS - {"visitor", "anonymous_id"}
EVENT_KEYS = {
    "focus": {"type", "field", "ts", "kind"},
    "blur": {"type", "field", "ts", "validation"},
    "input": {"type", "field", "ts"},
    "scroll": {"type", "field", "ts", "duration_ms"},
    "exit": {"type", "field", "ts"},
    "submit": {"type", "field", "ts"},
    "hide": {"type", "field", "ts"},
    "show": {"type", "field", "ts"},
}


class SchemaError(ValueError):
    """The batch does not match the schema; the message names the field."""


@dataclass(frozen=True)
class Batch:
    site_key: str
    session_id: uuid.UUID
    seq: int
    form_id: str
    path: str
    events: list[dict]
    sent_at: int
    visitor: str | None
    anonymous_id: str | None = None  # the snippet's random first-party id for this browser and site

    @property
    def last_ts(self) -> int:
        return self.events[-1]["ts"] if self.events else 0

    @cached_property
    def kinds(self) -> frozenset[str]:
        return frozenset(event["type"] for event in self.events)


def normalise_field_name(raw: str) -> str:
    """``billingAddress.Zip`` → ``billing_address_zip``; what the snippet does, repeated server-side."""
    # Accents go to their base letter (prénom → prenom, Straße → strasse), as the snippet does.
    raw = "".join(c for c in unicodedata.normalize("NFKD", raw.replace("ß", "ss")) if not unicodedata.combining(c))
    snake = _CAMEL_BOUNDARY.sub("_", raw).lower()
    return _NON_ALNUM.sub("_", snake).strip("_")


def parse_batch_json(body: bytes, *, max_events: int) -> Batch:
    try:
        data = json.loads(body)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, and integers too long to convert
        raise SchemaError(f"body is not valid JSON: {exc}"[:300]) from None
    except RecursionError:
        raise SchemaError("body is not valid JSON: nested too deeply") from None
    return parse_batch(data, max_events=max_events)


def parse_batch(data: object, *, max_events: int) -> Batch:
    if not isinstance(data, dict):
        raise SchemaError("body must be a JSON object")
    _reject_unknown(data, TOP_LEVEL_KEYS, where="")
    missing = sorted(REQUIRED_TOP_LEVEL - data.keys())
    if missing:
        raise SchemaError(f"{missing[0]}: required")

    site_key = _string(data["site_key"], "site_key", max_len=64)
    if not SITE_KEY_RE.match(site_key):
        raise SchemaError("site_key: must look like pk_… (letters, digits, _ and -)")
    session_id = _uuid(data["session_id"], "session_id")
    seq = _int(data["seq"], "seq", maximum=1_000_000)
    form_id, path = _form(data["form"])
    events = _events(data["events"], max_events=max_events)
    sent_at = _int(data["sent_at"], "sent_at", maximum=MAX_TS_MS)
    if events and sent_at < events[-1]["ts"]:
        raise SchemaError(f"sent_at: must not be before the last event (ts {events[-1]['ts']}), got {sent_at}")
    visitor = None
    if data.get("visitor") is not None:
        visitor = _string(data["visitor"], "visitor", max_len=MAX_VISITOR_REF)
        if holds_card_number(visitor):
            visitor = None  # typed payment data, not an identifier: dropped, the batch kept
    anonymous_id = None
    if data.get("anonymous_id") is not None:
        anonymous_id = _string(data["anonymous_id"], "anonymous_id", max_len=64)
        if not ANONYMOUS_ID_RE.match(anonymous_id):
            raise SchemaError("anonymous_id: 8-64 letters, digits and - (the snippet sends a UUID)")
    return Batch(site_key, session_id, seq, form_id, path, events, sent_at, visitor, anonymous_id)


def parse_events(value: object, *, max_events: int) -> list[dict]:
    """Validate a bare list of raw snippet events by the batch rules (for callers without a batch envelope)."""
    return _events(value, max_events=max_events)


def _form(value: object) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise SchemaError("form: must be an object with id and path")
    _reject_unknown(value, {"id", "path"}, where="form.")
    for key in ("id", "path"):
        if key not in value:
            raise SchemaError(f"form.{key}: required")
    form_id = _string(value["id"], "form.id", max_len=128)
    if not FORM_ID_RE.match(form_id):
        raise SchemaError("form.id: only letters, digits and _-:. allowed (1-128 characters)")
    path = _string(value["path"], "form.path", max_len=2048)
    if not path.startswith("/") or "?" in path or "#" in path:
        raise SchemaError("form.path: must be a URL path starting with / and without query string or fragment")
    return scrub_path(form_id), scrub_path(path)  # a form id is a page's own name: as value-free as a path


def _events(value: object, *, max_events: int) -> list[dict]:
    if not isinstance(value, list):
        raise SchemaError("events: must be a list")
    if len(value) > max_events:
        raise SchemaError(f"events: at most {max_events} events per batch, got {len(value)}")
    events: list[dict] = []
    previous_ts = 0
    for index, raw in enumerate(value):
        try:
            event = _event(raw)
        except SchemaError as exc:
            # _event names the key relative to the event (".ts: …"); the position is added only on error.
            raise SchemaError(f"events[{index}]{exc}") from None
        if event["ts"] < previous_ts:
            raise SchemaError(f"events[{index}].ts: timestamps must not decrease ({event['ts']} after {previous_ts})")
        previous_ts = event["ts"]
        events.append(event)
    return events


def _event(raw: object) -> dict:
    # Nearly every event the snippet sends is already exactly what the checks below would build: accept those
    # as they are (callers never mutate events), and let the full checks name the problem in any other.
    if _already_valid(raw):
        return raw
    return _checked_event(raw)


_FIELD_KIND_SET = frozenset(FIELD_KINDS)
_NORMAL_FIELDS: set[str] = set()  # names seen already normalised and valid: a set lookup beats re-checking
_MAX_NORMAL_FIELDS = 100_000


def _normal_field(field: object) -> bool:
    if type(field) is not str:
        return False
    if field in _NORMAL_FIELDS:
        return True
    if _valid_field_name(field) != field:
        return False
    if len(_NORMAL_FIELDS) < _MAX_NORMAL_FIELDS:
        _NORMAL_FIELDS.add(field)
    return True


def _already_valid(raw: object) -> bool:  # noqa: PLR0911 - one early answer per event type, on the hot path
    """Whether ``raw`` is exactly what the full checks would build. Counting keys stands in for comparing key
    sets: every key an event type allows is looked up below, so the right count means no other key."""
    if type(raw) is not dict:
        return False
    ts = raw.get("ts")
    if type(ts) is not int or not 0 <= ts <= MAX_TS_MS:
        return False
    kind = raw.get("type")
    if kind == "input":
        return len(raw) == 3 and _normal_field(raw.get("field"))
    if kind == "focus":
        field_kind = raw.get("kind", _FIELD_KIND_SET)
        if field_kind is not _FIELD_KIND_SET and (type(field_kind) is not str or field_kind not in _FIELD_KIND_SET):
            return False
        return len(raw) == 3 + ("kind" in raw) and _normal_field(raw.get("field"))
    if kind == "blur":
        reason = raw.get("validation", REASON_RE)
        if reason is not REASON_RE and (type(reason) is not str or REASON_RE.fullmatch(reason) is None):
            return False
        return len(raw) == 3 + ("validation" in raw) and _normal_field(raw.get("field"))
    if type(kind) is not str or kind not in EVENT_KEYS:
        return False
    has_field = "field" in raw
    if has_field and not _normal_field(raw["field"]):
        return False
    if kind == "scroll":
        duration = raw.get("duration_ms")
        return type(duration) is int and 0 <= duration <= MAX_TS_MS and len(raw) == 3 + has_field
    return len(raw) == 2 + has_field


def _checked_event(raw: object) -> dict:
    if not isinstance(raw, dict):
        raise SchemaError(": must be an object")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in EVENT_KEYS:
        raise SchemaError(f".type: must be one of {', '.join(EVENT_TYPES)}, got {kind!r}"[:300])
    _reject_unknown(raw, EVENT_KEYS[kind], where=".")
    if "ts" not in raw:
        raise SchemaError(".ts: required")
    event = {"type": kind, "ts": _int(raw["ts"], ".ts", maximum=MAX_TS_MS)}

    field = raw.get("field")
    if kind in FIELD_EVENTS or field is not None:
        if field is None:
            raise SchemaError(f".field: required for {kind} events")
        event["field"] = _field_name(field, ".field")
    if kind == "focus" and raw.get("kind") is not None:
        if raw["kind"] not in FIELD_KINDS:
            raise SchemaError(f".kind: must be one of {', '.join(FIELD_KINDS)}, got {str(raw['kind'])[:64]!r}")
        event["kind"] = raw["kind"]
    if kind == "blur" and "validation" in raw:
        if raw["validation"] is None:
            event["validation"] = UNNAMED_REASON  # a failure all the same: refusing it would lose the session
        else:
            reason = _string(raw["validation"], ".validation", max_len=64)
            if not REASON_RE.match(reason):
                raise SchemaError(f".validation: must be snake_case [a-z0-9_], got {reason[:64]!r}")
            event["validation"] = reason
    if kind == "scroll":
        if "duration_ms" not in raw:
            raise SchemaError(".duration_ms: required for scroll events")
        event["duration_ms"] = _int(raw["duration_ms"], ".duration_ms", maximum=MAX_TS_MS)
    return event


def _field_name(value: object, where: str) -> str:
    raw = _string(value, where, max_len=256)
    name = _valid_field_name(raw)
    if name is None:
        raise SchemaError(f"{where}: field names must be 1-64 characters of [a-z0-9_] after normalisation, got {raw[:64]!r}")
    return name


@lru_cache(maxsize=8192)
def _valid_field_name(raw: str) -> str | None:
    # A session repeats a handful of field names hundreds of times: normalise each once. E-mail shapes go
    # before normalising (it turns @ and . into _), long numbers after (in any separator it leaves).
    name = scrub_normalised_name(normalise_field_name(scrub_emails(raw)))
    return name if FIELD_RE.match(name) else None


def _reject_unknown(data: dict, allowed: set[str], *, where: str) -> None:
    if data.keys() <= allowed:
        return
    unknown = sorted(str(k) for k in data.keys() - allowed)
    if unknown:
        raise SchemaError(f"{where}{ascii(unknown[0][:64])[1:-1]}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _string(value: object, where: str, *, max_len: int) -> str:
    if not isinstance(value, str) or not value:
        raise SchemaError(f"{where}: must be a non-empty string")
    if len(value) > max_len:
        raise SchemaError(f"{where}: at most {max_len} characters")
    if not value.isprintable():
        # NUL, control characters and lone surrogates (half an emoji) cannot be stored or echoed.
        raise SchemaError(f"{where}: contains control characters or invalid unicode")
    return value


def _int(value: object, where: str, *, maximum: int) -> int:
    # bool is an int in Python; JSON true is not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(f"{where}: must be an integer")
    if value < 0 or value > maximum:
        raise SchemaError(f"{where}: must be between 0 and {maximum}")
    return value


def _uuid(value: object, where: str) -> uuid.UUID:
    if not isinstance(value, str):
        raise SchemaError(f"{where}: must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise SchemaError(f"{where}: must be a UUID string") from None
