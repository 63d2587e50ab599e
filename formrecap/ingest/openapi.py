"""The ingest batch as OpenAPI documents it, built from the rules formrecap/ingest/schema.py enforces.

It is the strict shape the snippet sends (normalised field names, a UUID session id): the parser also accepts a few
forms it normalises (``billingAddress.Zip``), and checks what JSON Schema cannot say (timestamps never decrease, and
``sent_at`` is not before the last event).
"""

from django.conf import settings

from .schema import (
    ANONYMOUS_ID_RE,
    EVENT_KEYS,
    FIELD_EVENTS,
    FIELD_KINDS,
    FIELD_RE,
    FORM_ID_RE,
    MAX_TS_MS,
    MAX_VISITOR_REF,
    REASON_RE,
    SITE_KEY_RE,
)

_TS = {"type": "integer", "minimum": 0, "maximum": MAX_TS_MS}
_PROPERTY_SCHEMAS = {
    "field": {"type": "string", "pattern": FIELD_RE.pattern},
    "ts": {**_TS, "description": "ms since the session started; never decreasing within a batch"},
    "kind": {"type": "string", "enum": list(FIELD_KINDS), "description": "from HTML semantics, never the value"},
    "validation": {"type": "string", "pattern": REASON_RE.pattern, "description": "why the field failed validation"},
    "duration_ms": {**_TS, "description": "scrolled or idle for this long"},
}


def _event_schema(kind: str, keys: set[str]) -> dict:
    required = ["type", "ts", *(["field"] if kind in FIELD_EVENTS else []), *(["duration_ms"] if kind == "scroll" else [])]
    properties = {"type": {"type": "string", "enum": [kind]}}
    properties.update({key: _PROPERTY_SCHEMAS[key] for key in sorted(keys - {"type"})})
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def batch_schema() -> dict:
    printable = r"^[\x20-\x7e]+$"  # documented as ASCII; the parser accepts any printable text
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["site_key", "session_id", "seq", "form", "events", "sent_at"],
        "properties": {
            "site_key": {"type": "string", "pattern": SITE_KEY_RE.pattern, "description": "the site's public key"},
            "session_id": {"type": "string", "format": "uuid"},
            "seq": {"type": "integer", "minimum": 0, "maximum": 1_000_000, "description": "the batch's number in the session"},
            "form": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "path"],
                "properties": {
                    "id": {"type": "string", "pattern": FORM_ID_RE.pattern},
                    "path": {"type": "string", "pattern": r"^/[\x20-\x22\x24-\x3e\x40-\x7e]{0,2047}$"},
                },
            },
            "events": {
                "type": "array",
                "maxItems": settings.FORMRECAP_INGEST_MAX_EVENTS_PER_BATCH,
                "items": {"oneOf": [_event_schema(kind, keys) for kind, keys in EVENT_KEYS.items()]},
            },
            "sent_at": {**_TS, "description": "not before the last event's ts"},
            "visitor": {"type": "string", "nullable": True, "minLength": 1, "maxLength": MAX_VISITOR_REF, "pattern": printable},
            "anonymous_id": {"type": "string", "nullable": True, "pattern": ANONYMOUS_ID_RE.pattern},
        },
    }
