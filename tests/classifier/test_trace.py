"""The trace language: terse parsing and writing, raw event normalisation, and the limits both forms share."""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifier.trace import (
    EVENT_KINDS,
    MAX_TOKENS,
    RawTiming,
    Token,
    Trace,
    TraceError,
    normalise_events,
    parse_trace,
    serialise_trace,
    trace_from_input,
)
from formrecap.ingest.schema import SchemaError, parse_events

# The autouse cache fixture in tests/conftest.py is function-scoped; it does not interact with these examples.
hypothesis_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)

DESIGN_EXAMPLE = (
    "focus:email, input:email(x8), blur:email(invalid_format), focus:email, input:email(x9), "
    "blur:email(invalid_format), scroll:page(2000ms), exit"
)
DESIGN_TOKENS = (
    Token("focus", "email"),
    Token("input", "email", count=8),
    Token("blur", "email", reason="invalid_format"),
    Token("focus", "email"),
    Token("input", "email", count=9),
    Token("blur", "email", reason="invalid_format"),
    Token("scroll", "page", duration_ms=2000),
    Token("exit"),
)


def raw(kind: str, ts: int, field: str | None = None, **extra) -> dict:
    event = {"type": kind, "ts": ts, **extra}
    if field is not None:
        event["field"] = field
    return event


def keystrokes(field: str, start: int, n: int, every: int = 100) -> list[dict]:
    return [raw("input", start + i * every, field) for i in range(n)]


# --- terse traces -------------------------------------------------------------------------------


def test_design_example_parses_to_its_tokens():
    assert parse_trace(DESIGN_EXAMPLE) == Trace(DESIGN_TOKENS, timing=None)


def test_serialise_writes_the_canonical_form():
    assert serialise_trace(Trace(DESIGN_TOKENS)) == DESIGN_EXAMPLE
    assert serialise_trace(Trace((Token("input", "email", count=1), Token("blur", "email"), Token("submit")))) == (
        "input:email, blur:email, submit"
    )


@pytest.mark.parametrize(
    "text",
    [
        "focus:email,input:email(x8),blur:email(invalid_format),focus:email,input:email(x9),"
        "blur:email(invalid_format),scroll:page(2000ms),exit",
        "  focus:email ,\tinput:email(x8) ,  blur:email(invalid_format), focus:email, input:email(x9), "
        "blur:email(invalid_format), scroll:page(2000ms), exit  ",
        DESIGN_EXAMPLE + ",",
        DESIGN_EXAMPLE + " , \n",
        DESIGN_EXAMPLE.replace(", ", "\n"),
        DESIGN_EXAMPLE.replace(", ", ",\n"),
        DESIGN_EXAMPLE.replace(", ", ",\r\n  ") + ",\n",
        "\n\n" + DESIGN_EXAMPLE.replace(", ", "\n\n") + "\n",
    ],
    ids=["no-spaces", "extra-blanks", "trailing-comma", "trailing-comma-nl", "newlines", "comma-nl", "crlf", "blank-lines"],
)
def test_whitespace_newlines_and_a_trailing_comma_are_tolerated(text):
    assert parse_trace(text).tokens == DESIGN_TOKENS


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("scroll:pricing_table(0ms)", Token("scroll", "pricing_table", duration_ms=0)),
        ("scroll(1500ms)", Token("scroll", "page", duration_ms=1500)),
        ("submit:form", Token("submit")),
        ("exit:page", Token("exit")),
        ("input:address_line2(x3)", Token("input", "address_line2", count=3)),
        ("focus:2fa_code", Token("focus", "2fa_code")),  # ingest accepts a leading digit, so the trace does too
        ("blur:password(too_short_8)", Token("blur", "password", reason="too_short_8")),
        ("input:" + "f" * 64, Token("input", "f" * 64)),
        ("input:email(x1)", Token("input", "email")),
    ],
)
def test_token_variants_are_accepted(text, token):
    assert parse_trace(text).tokens == (token,)


def test_exactly_max_tokens_is_accepted():
    assert len(parse_trace(", ".join(["exit"] * MAX_TOKENS)).tokens) == MAX_TOKENS


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", None, "trace is empty"),
        (" \n\t ,\n ", 0, "token 0 '': empty token"),
        ("   \n\t  ", None, "trace is empty"),
        ("focus:a, " * 1000, None, "trace is 9000 bytes, at most 8192 allowed"),
        ("focus:" + "é" * 4100, None, "trace is 8206 bytes, at most 8192 allowed"),  # bytes, not characters
        (", ".join(["exit"] * (MAX_TOKENS + 1)), None, "trace has 1001 tokens, at most 1000 allowed"),
        ("focus:email, click:email", 1, "token 1 'click:email': unknown token kind 'click'"),
        ("Focus:email", 0, "token 0 'Focus:email': unknown token kind 'Focus'"),
        ("focus:Email", 0, "token 0 'focus:Email': malformed field"),
        ("focus:e-mail", 0, "token 0 'focus:e-mail': malformed field"),
        ("focus:", 0, "token 0 'focus:': malformed field"),
        ("exit:Bad Field", 0, "token 0 'exit:Bad Field': malformed field"),
        ("input:" + "f" * 65, 0, "malformed field"),
        ("focus:email exit", 0, "token 0 'focus:email exit': malformed field"),
        ("focus:email, input:email(x3), blur:email, input:email(x)", 3, "token 3 'input:email(x)': malformed count"),
        ("input:email(8)", 0, "token 0 'input:email(8)': malformed count"),
        ("input:email(x-1)", 0, "malformed count"),
        ("input:email(x١)", 0, "malformed count"),  # a non-ASCII digit is not a count
        ("input:email(x0)", 0, "token 0 'input:email(x0)': count must be at least 1"),
        ("scroll:page(2000)", 0, "token 0 'scroll:page(2000)': malformed duration"),
        ("scroll:page(-5ms)", 0, "malformed duration"),
        ("scroll:page(ms)", 0, "malformed duration"),
        ("scroll:page", 0, "token 0 'scroll:page': missing duration"),
        ("scroll", 0, "missing duration"),
        ("input", 0, "token 0 'input': input without field"),
        ("exit, input(x3)", 1, "token 1 'input(x3)': input without field"),
        ("focus", 0, "focus without field"),
        ("blur(required)", 0, "blur without field"),
        ("blur:email(Invalid Format)", 0, "token 0 'blur:email(Invalid Format)': malformed reason"),
        ("focus:email(x2)", 0, "token 0 'focus:email(x2)': focus takes no argument"),
        ("exit(now)", 0, "token 0 'exit(now)': exit takes no argument"),
        ("focus:email,, exit", 1, "token 1 '': empty token"),
        (", focus:email", 0, "token 0 '': empty token"),
        ("input:email(x8", 0, "token 0 'input:email(x8': malformed token"),
        ("input:email(x8)(x2)", 0, "malformed token"),
        ("click:" + "a" * 100, 0, "token 0 'click:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…': unknown token kind 'click'"),
    ],
)
def test_invalid_traces_raise_with_position_and_message(text, position, message):
    with pytest.raises(TraceError) as caught:
        parse_trace(text)
    assert message in str(caught.value)
    assert caught.value.position == position


def test_a_non_string_is_refused():
    with pytest.raises(TraceError, match="trace must be a string, got bytes"):
        parse_trace(b"exit")


# --- raw events ---------------------------------------------------------------------------------


def test_consecutive_inputs_on_one_field_become_one_counted_token():
    trace = normalise_events([raw("focus", 0, "email"), *keystrokes("email", 100, 8)])
    assert trace.tokens == (Token("focus", "email"), Token("input", "email", count=8))


def test_an_input_run_is_broken_by_any_other_event():
    events = [*keystrokes("email", 0, 2), raw("input", 300, "name"), *keystrokes("email", 400, 3)]
    events += [raw("scroll", 800, duration_ms=50), *keystrokes("email", 900, 2)]
    assert normalise_events(events).tokens == (
        Token("input", "email", count=2),
        Token("input", "name"),
        Token("input", "email", count=3),
        Token("scroll", "page", duration_ms=50),
        Token("input", "email", count=2),
    )


def test_blur_keeps_the_validation_reason():
    events = [raw("blur", 0, "email", validation="invalid_format"), raw("blur", 10, "name")]
    assert normalise_events(events).tokens == (Token("blur", "email", reason="invalid_format"), Token("blur", "name"))


def test_scroll_events_become_scroll_tokens_on_page_unless_named():
    events = [raw("scroll", 0, duration_ms=1200), raw("scroll", 1500, "pricing_table", duration_ms=300)]
    assert normalise_events(events).tokens == (
        Token("scroll", "page", duration_ms=1200),
        Token("scroll", "pricing_table", duration_ms=300),
    )


def test_consecutive_scroll_events_stay_separate():
    events = [raw("scroll", 0, duration_ms=200), raw("scroll", 400, duration_ms=200)]
    assert [token.duration_ms for token in normalise_events(events).tokens] == [200, 200]


def test_exit_and_submit_carry_no_field():
    assert normalise_events([raw("submit", 0, "signup_form"), raw("exit", 5)]).tokens == (Token("submit"), Token("exit"))


def test_field_names_are_normalised_as_at_ingest():
    assert normalise_events([raw("focus", 0, "billingAddress.Zip")]).tokens == (Token("focus", "billing_address_zip"),)


@pytest.mark.parametrize(
    ("gap", "tokens"),
    [
        (4999, (Token("input", "email", count=2),)),
        (5000, (Token("input", "email"), Token("scroll", "page", duration_ms=5000), Token("input", "email"))),
        (60_000, (Token("input", "email"), Token("scroll", "page", duration_ms=60_000), Token("input", "email"))),
    ],
)
def test_an_idle_gap_without_a_scroll_event_becomes_a_scroll_token(gap, tokens):
    assert normalise_events([raw("input", 1000, "email"), raw("input", 1000 + gap, "email")]).tokens == tokens


def test_idle_before_exit_is_written_out():
    tokens = normalise_events([raw("blur", 0, "email"), raw("exit", 45_000)]).tokens
    assert tokens == (Token("blur", "email"), Token("scroll", "page", duration_ms=45_000), Token("exit"))


@pytest.mark.parametrize(
    ("gap", "scroll_ms", "extra_idle"),
    [
        (30_000, 30_000, None),  # the snippet's idle report covers the whole gap
        (33_000, 30_000, None),  # 3 s left over is under IDLE_GAP_MS
        (40_000, 30_000, 10_000),  # 10 s not covered by the scroll event
        (6_000, 9_000, None),  # a scroll longer than the gap covers it
    ],
)
def test_a_scroll_event_covers_the_gap_before_it(gap, scroll_ms, extra_idle):
    tokens = normalise_events([raw("blur", 0, "email"), raw("scroll", gap, duration_ms=scroll_ms)]).tokens
    idle = () if extra_idle is None else (Token("scroll", "page", duration_ms=extra_idle),)
    assert tokens == (Token("blur", "email"), *idle, Token("scroll", "page", duration_ms=scroll_ms))


def test_raw_timing_is_filled():
    events = [raw("focus", 500, "email"), raw("input", 800, "email"), raw("input", 900, "email"), raw("input", 1150, "email")]
    events += [raw("blur", 1200, "email"), raw("focus", 1300, "name"), raw("input", 1340, "name"), raw("exit", 2000)]
    assert normalise_events(events).timing == RawTiming(
        duration_ms=1500, keystroke_intervals_ms=(100, 250), focus_to_input_ms=(300, 40), median_event_gap_ms=100
    )


def test_the_median_event_gap_ignores_tab_visibility():
    events = [raw("focus", 0, "a"), raw("input", 4, "a"), raw("blur", 9, "a"), raw("hide", 9), raw("show", 60_000)]
    events += [raw("focus", 60_003, "b"), raw("exit", 60_010)]
    assert normalise_events(events).timing.median_event_gap_ms == 4.5  # 4, 5, 3, 7: the time away is no gap


def test_focus_to_input_counts_only_inputs_before_the_field_is_left():
    events = [raw("focus", 0, "email"), raw("blur", 100, "email"), raw("focus", 200, "email"), raw("input", 260, "email")]
    events += [raw("blur", 300, "email"), raw("input", 400, "email"), raw("input", 500, "name")]  # injected: no focus
    assert normalise_events(events).timing.focus_to_input_ms == (60,)


def test_keystroke_intervals_stop_at_a_run_break():
    events = [*keystrokes("email", 0, 3, every=20), raw("input", 5040, "email"), raw("input", 5070, "email")]
    assert normalise_events(events).timing.keystroke_intervals_ms == (20, 20, 30)  # the 5000 ms gap is idle, not a keystroke


def test_raw_and_terse_forms_of_one_session_give_equal_tokens():
    invalid = {"validation": "invalid_format"}
    events = [raw("focus", 0, "email"), *keystrokes("email", 200, 8), raw("blur", 1200, "email", **invalid)]
    events += [raw("focus", 1500, "email"), *keystrokes("email", 1600, 9), raw("blur", 2600, "email", **invalid)]
    events += [raw("scroll", 4600, duration_ms=2000), raw("exit", 4700)]
    assert normalise_events(events).tokens == parse_trace(DESIGN_EXAMPLE).tokens


def test_schema_errors_become_trace_errors_with_the_ingest_message():
    events = [raw("focus", 0, "email"), {"type": "input", "field": "email", "ts": 5, "value": "secret"}]
    with pytest.raises(SchemaError) as schema_error:
        parse_events(events, max_events=10_000)
    with pytest.raises(TraceError) as trace_error:
        normalise_events(events)
    assert str(trace_error.value) == str(schema_error.value) == "events[1].value: unknown key (allowed: field, ts, type)"


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "trace is empty: no events"),
        ("focus:email", "events: must be a list"),
        ([raw("focus", 10, "email"), raw("blur", 5, "email")], "events[1].ts: timestamps must not decrease (5 after 10)"),
        ([raw("input", 0)], "events[0].field: required for input events"),
        ([raw("exit", 0)] * 10_001, "events: at most 10000 events per batch, got 10001"),
        ([raw("focus", i, f"f{i % 2}") for i in range(MAX_TOKENS + 1)], "trace has 1001 tokens after normalisation"),
    ],
    ids=["empty", "not-a-list", "ts-decreases", "no-field", "too-many-events", "too-many-tokens"],
)
def test_invalid_raw_events_raise(events, message):
    with pytest.raises(TraceError) as caught:
        normalise_events(events)
    assert message in str(caught.value)
    assert caught.value.position is None


def test_trace_from_input_accepts_both_forms():
    events = [raw("focus", 0, "email"), raw("exit", 10)]
    assert trace_from_input("focus:email, exit").tokens == trace_from_input(events).tokens
    assert trace_from_input(events).timing is not None


@pytest.mark.parametrize("value", [None, 3, {"events": []}, ("exit",), b"exit"])
def test_trace_from_input_refuses_other_types(value):
    with pytest.raises(TraceError, match="trace must be a string or a list of raw events"):
        trace_from_input(value)


# --- properties ---------------------------------------------------------------------------------

names = st.from_regex(r"[a-z0-9_]{1,24}", fullmatch=True)
tokens = st.one_of(
    st.builds(Token, st.just("focus"), names),
    st.builds(Token, st.just("blur"), names, reason=st.none() | names),
    st.builds(Token, st.just("input"), names, count=st.integers(1, 999_999_999)),
    st.builds(Token, st.just("scroll"), names, duration_ms=st.integers(0, 9_999_999_999)),
    st.sampled_from([Token("exit"), Token("submit")]),
)


@hypothesis_settings
@given(st.lists(tokens, min_size=1, max_size=80))
def test_serialised_tokens_parse_back(token_list):
    trace = Trace(tuple(token_list))
    assert parse_trace(serialise_trace(trace)) == trace


raw_fields = st.sampled_from(["email", "password", "firstName", "company_size", "pricing_table", "2fa_code"])
gaps = st.one_of(st.integers(0, 400), st.integers(4000, 6000), st.integers(0, 120_000))
raw_steps = st.tuples(
    st.sampled_from(EVENT_KINDS),
    gaps,
    raw_fields,
    st.none() | st.sampled_from(["required", "invalid_format", "too_short"]),
    st.none() | gaps,
)


def events_from(steps) -> list[dict]:
    events, ts = [], 0
    for kind, gap, field, reason, scroll_ms in steps:
        ts += gap
        event = {"type": kind, "ts": ts}
        if kind in ("focus", "blur", "input"):
            event["field"] = field
        if kind == "blur" and reason:
            event["validation"] = reason
        if kind == "scroll":
            event["duration_ms"] = scroll_ms if scroll_ms is not None else gap
        events.append(event)
    return events


@hypothesis_settings
@given(st.lists(raw_steps, min_size=1, max_size=120).map(events_from))
def test_normalised_raw_events_serialise_and_parse_back(events):
    normalised = normalise_events(events)
    assert parse_trace(serialise_trace(normalised)).tokens == normalised.tokens


@hypothesis_settings
@given(st.lists(raw_steps, min_size=1, max_size=120).map(events_from))
def test_normalisation_keeps_every_keystroke(events):
    trace = normalise_events(events)
    inputs = [token.count for token in trace.tokens if token.kind == "input"]
    assert sum(inputs) == sum(event["type"] == "input" for event in events)
    assert len(trace.timing.keystroke_intervals_ms) == sum(inputs) - len(inputs)


near_trace_text = st.text(alphabet=st.sampled_from(list("focusinputblrxmspage:(),_019 \n\t\r\u2028é\x00")), max_size=200)


@hypothesis_settings
@given(st.one_of(st.text(), near_trace_text))
def test_parse_trace_on_any_text_raises_only_trace_error(text):
    try:
        trace = parse_trace(text)
    except TraceError as exc:
        assert exc.position is None or exc.position >= 0
    else:
        assert trace.tokens


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.sampled_from(EVENT_KINDS)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
        | st.dictionaries(st.sampled_from(["type", "field", "ts", "validation", "duration_ms", "value"]), children, max_size=6)
    ),
    max_leaves=30,
)


event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(EVENT_KINDS), "ts": st.integers(-5, 10**6)},
    optional={"field": raw_fields | st.text(max_size=70) | scalars, "validation": scalars, "duration_ms": scalars},
)


@hypothesis_settings
@given(json_like | st.lists(event_like, max_size=20))
def test_trace_from_input_on_any_json_value_raises_only_trace_error(value):
    with contextlib.suppress(TraceError):
        trace_from_input(value)


def test_a_scroll_stamped_when_it_starts_covers_the_gap_after_it():
    # Hand-written sessions often stamp a scroll at its start and jump the next event past it.
    events = [raw("blur", 1000, "email"), {"type": "scroll", "ts": 1500, "duration_ms": 40_000}, raw("focus", 41_800, "phone")]
    tokens = normalise_events(events).tokens
    assert tokens == (Token("blur", "email"), Token("scroll", "page", duration_ms=40_000), Token("focus", "phone"))


def test_a_long_stored_session_can_keep_its_last_tokens():
    events = [raw("focus", i, f"f{i % 2}") for i in range(MAX_TOKENS + 5)]
    trace = normalise_events(events, keep_tail=True)
    assert len(trace.tokens) == MAX_TOKENS and trace.tokens[-1] == Token("focus", f"f{(MAX_TOKENS + 4) % 2}")
