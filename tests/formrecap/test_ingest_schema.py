"""The batch schema: what is accepted, and that every refusal names its field."""

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formrecap.ingest import schema
from formrecap.ingest.schema import SchemaError, normalise_field_name, parse_batch, parse_batch_json

VALID = {
    "site_key": "pk_abc",
    "session_id": "8b0f6a43-4f7e-4a56-9a51-3ad2f0b1c9e1",
    "seq": 3,
    "form": {"id": "checkout-form", "path": "/checkout"},
    "events": [
        {"type": "focus", "field": "cardNumber", "ts": 0},
        {"type": "input", "field": "cardNumber", "ts": 90},
        {"type": "blur", "field": "cardNumber", "ts": 200, "validation": "invalid_luhn"},
        {"type": "scroll", "ts": 250, "duration_ms": 2000},
        {"type": "exit", "ts": 2300},
    ],
    "sent_at": 2310,
}


def with_changes(**changes) -> dict:
    body = json.loads(json.dumps(VALID))
    body.update(changes)
    return body


def with_event(index: int, **changes) -> dict:
    body = with_changes()
    body["events"][index].update(changes)
    return body


def test_valid_batch_is_parsed_and_field_names_normalised():
    batch = parse_batch(VALID, max_events=500)
    assert batch.seq == 3 and batch.form_id == "checkout-form" and batch.path == "/checkout"
    assert batch.events[0] == {"type": "focus", "field": "card_number", "ts": 0}
    assert batch.events[2]["validation"] == "invalid_luhn"
    assert batch.events[3] == {"type": "scroll", "ts": 250, "duration_ms": 2000}
    assert batch.last_ts == 2300 and batch.visitor is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("email", "email"),
        ("billingAddress.Zip", "billing_address_zip"),
        ("First Name", "first_name"),
        ("--x--", "x"),
        ("cc-num2", "cc_num2"),
        ("Prénom", "prenom"),
        ("Straße", "strasse"),
        ("códigoPostal", "codigo_postal"),
        ("history[0][employer]", "history_0_employer"),
    ],
)
def test_field_name_normalisation(raw, expected):
    assert normalise_field_name(raw) == expected


@pytest.mark.parametrize("kind", ["email", "file", "region", "checkbox", "select", "text"])
def test_focus_events_keep_a_known_field_kind(kind):
    assert parse_batch(with_event(0, kind=kind), max_events=500).events[0]["kind"] == kind


def test_a_focus_without_kind_stays_without_one():
    assert "kind" not in parse_batch(VALID, max_events=500).events[0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (with_changes(value="hunter2"), "value: unknown key"),
        (with_event(1, value="hunter2"), "events[1].value: unknown key"),
        (with_event(0, text="typed"), "events[0].text: unknown key"),
        (with_changes(form={"id": "f", "path": "/x", "title": "t"}), "form.title: unknown key"),
        ({k: v for k, v in VALID.items() if k != "seq"}, "seq: required"),
        (with_changes(seq="3"), "seq: must be an integer"),
        (with_changes(seq=True), "seq: must be an integer"),
        (with_changes(seq=-1), "seq: must be between 0"),
        (with_changes(session_id="not-a-uuid"), "session_id: must be a UUID"),
        (with_changes(site_key=""), "site_key: must be a non-empty string"),
        (with_changes(form="signup"), "form: must be an object"),
        (with_changes(form={"id": "signup"}), "form.path: required"),
        (with_changes(form={"id": "sign up!", "path": "/x"}), "form.id: only letters"),
        (with_changes(form={"id": "f", "path": "/x?email=a@b.c"}), "form.path: must be a URL path"),
        (with_changes(form={"id": "f", "path": "https://x/y"}), "form.path: must be a URL path"),
        (with_changes(events={}), "events: must be a list"),
        (with_changes(events=["focus"]), "events[0]: must be an object"),
        (with_event(0, type="keydown"), "events[0].type: must be one of"),
        (with_event(0, field="日本語"), "events[0].field: field names must be"),
        (with_event(0, kind="password_field"), "events[0].kind: must be one of email, tel"),
        (with_event(1, kind="email"), "events[1].kind: unknown key"),
        (with_event(0, field="a" * 65), "events[0].field: field names must be"),
        (with_event(0, field=None), "events[0].field: required for focus events"),
        (with_event(1, ts=1.5), "events[1].ts: must be an integer"),
        (with_event(1, ts=-5), "events[1].ts: must be between 0"),
        (with_event(2, ts=50), "events[2].ts: timestamps must not decrease"),
        (with_event(2, validation="Invalid Format"), "events[2].validation: must be snake_case"),
        (with_event(0, validation="required"), "events[0].validation: unknown key"),
        (with_event(3, duration_ms="2s"), "events[3].duration_ms: must be an integer"),
        (with_changes(sent_at=None), "sent_at: must be an integer"),
        (with_changes(visitor=42), "visitor: must be a non-empty string"),
        ([], "body must be a JSON object"),
    ],
)
def test_schema_errors_name_the_field(body, message):
    with pytest.raises(SchemaError) as excinfo:
        parse_batch(body, max_events=500)
    assert message in str(excinfo.value)


def test_scroll_needs_a_duration():
    body = with_changes(events=[{"type": "scroll", "ts": 1}])
    with pytest.raises(SchemaError, match=r"events\[0\].duration_ms: required"):
        parse_batch(body, max_events=500)


def test_event_count_limit():
    body = with_changes(events=[{"type": "input", "field": "x", "ts": i} for i in range(11)])
    with pytest.raises(SchemaError, match="at most 10 events per batch, got 11"):
        parse_batch(body, max_events=10)


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[" * 100_000, b'{"a": NaN'])
def test_malformed_json(body):
    with pytest.raises(SchemaError, match="body is not valid JSON|body must be a JSON object"):
        parse_batch_json(body, max_events=500)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(VALID) + ["value", "x"]), json_values, max_size=8))
def test_arbitrary_objects_raise_only_schema_errors(data):
    with contextlib.suppress(SchemaError):
        parse_batch(data, max_events=500)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_schema_errors(body):
    with contextlib.suppress(SchemaError):
        parse_batch_json(body, max_events=500)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["type", "field", "ts", "validation", "duration_ms", "value"]), json_values), max_size=4
    )
)
def test_arbitrary_events_raise_only_schema_errors(events):
    with contextlib.suppress(SchemaError):
        parse_batch(with_changes(events=events), max_events=500)


_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 2**40), st.text(max_size=70), st.sampled_from(["email", "too_short", "file", "a\n"])
)
_events = st.fixed_dictionaries(
    {"type": st.sampled_from(["focus", "blur", "input", "scroll", "exit", "submit", "hide", "show", "keydown"])},
    optional={
        "ts": st.one_of(st.integers(-5, 8 * 24 * 3600 * 1000), _values),
        "field": st.one_of(st.sampled_from(["email", "cardNumber", "card_number", "x" * 65]), _values),
        "kind": st.one_of(st.sampled_from(["email", "region", "passport"]), _values),
        "validation": _values,
        "duration_ms": st.one_of(st.integers(-5, 10**10), _values),
        "value": _values,
    },
)


@given(_events)
@settings(max_examples=400, deadline=None)
def test_the_fast_path_accepts_only_events_the_full_checks_leave_unchanged(raw):
    # An event accepted as it is must be exactly what the full checks would have built from it.
    if schema._already_valid(raw):
        assert schema._checked_event(raw) == raw
