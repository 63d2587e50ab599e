"""Per-field figures folded from raw events."""

from analytics.field_summary import session_field_figures


def _by_field(events):
    return {f.field: f for f in session_field_figures(events)}


def test_time_refocus_corrections_failures_and_last_field():
    events = [
        {"type": "focus", "field": "email", "ts": 0},
        {"type": "input", "field": "email", "ts": 100},
        {"type": "input", "field": "email", "ts": 200},
        {"type": "blur", "field": "email", "ts": 1000, "validation": "invalid_format"},
        {"type": "focus", "field": "password", "ts": 1500},
        {"type": "input", "field": "password", "ts": 1600},
        {"type": "blur", "field": "password", "ts": 2500},
        {"type": "focus", "field": "email", "ts": 3000},  # back to fix it
        {"type": "input", "field": "email", "ts": 3100},
        {"type": "input", "field": "email", "ts": 3200},
        {"type": "blur", "field": "email", "ts": 4000, "validation": "invalid_format"},
        {"type": "blur", "field": "email", "ts": 4100, "validation": "too_short"},
        {"type": "focus", "field": "card", "ts": 5000},
        {"type": "exit", "field": None, "ts": 6000},
    ]
    figures = _by_field(events)
    assert [f.field for f in session_field_figures(events)] == ["email", "password", "card"]
    email = figures["email"]
    assert (email.position, email.focus_count, email.time_ms, email.inputs) == (0, 2, 2000, 4)
    assert email.corrections == 1  # one more typing run after leaving it
    assert (email.failures, email.reason) == (3, "invalid_format")
    assert figures["password"].corrections == 0 and figures["password"].time_ms == 1000
    assert figures["card"].time_ms == 1000  # focused until the exit
    assert [f.field for f in session_field_figures(events) if f.is_last] == ["card"]


def test_typing_without_focus_counts_from_the_first_key_and_fields_ignore_page_events():
    events = [
        {"type": "scroll", "field": "page", "ts": 0, "duration_ms": 5000},
        {"type": "input", "field": "name", "ts": 5000},
        {"type": "input", "field": "name", "ts": 5400},
        {"type": "hide", "field": None, "ts": 6000},
    ]
    figures = _by_field(events)
    assert list(figures) == ["name"]
    assert figures["name"].time_ms == 1000 and figures["name"].focus_count == 0 and figures["name"].is_last


def test_no_events_no_fields():
    assert session_field_figures([]) == []
