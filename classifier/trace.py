"""The trace language: a form session as comma-separated tokens (``focus:email, input:email(x8), exit``).

Parses and writes terse traces, and turns the snippet's raw events into the same tokens plus their timing.
"""

import re
import statistics
from dataclasses import dataclass
from functools import lru_cache

from formrecap.ingest.schema import FIELD_RE, REASON_RE, SchemaError, parse_events

EVENT_KINDS = ("focus", "blur", "input", "scroll", "exit", "submit")
MAX_TRACE_BYTES = 8 * 1024
MAX_TOKENS = 1000
TAB_VISIBILITY = ("hide", "show")  # raw events only: the trace language has no token for them
IDLE_GAP_MS = 5000  # a gap this long between consecutive raw events becomes scroll:page(gap)
MAX_RAW_EVENTS = 10_000

# Terse traces accept exactly the field and reason names that ingest accepts (FIELD_RE, REASON_RE),
# so every normalised raw trace can be written out and read back.
_SHAPE = re.compile(r"([^:(]*)(?::([^(]*))?(?:\(([^()]*)\))?", re.DOTALL)
_COUNT = re.compile(r"x([0-9]{1,9})")
_DURATION = re.compile(r"([0-9]{1,10})ms")
_SNIPPET_CHARS = 40


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # one of EVENT_KINDS
    field: str | None = None  # None for exit/submit; "page" for scroll unless the trace names a region
    count: int = 1  # input runs: input:email(x8) -> count=8
    reason: str | None = None  # blur:email(invalid_format)
    duration_ms: int | None = None  # scroll:page(2000ms)


@dataclass(frozen=True, slots=True)
class RawTiming:
    duration_ms: int  # last ts - first ts
    keystroke_intervals_ms: tuple[int, ...]  # gaps between consecutive input events of the same field run
    focus_to_input_ms: tuple[int, ...]  # gap from each focus to the first input in that field after it
    # Median gap between consecutive events: scripts act milliseconds apart even when they type no runs.
    median_event_gap_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Trace:
    tokens: tuple[Token, ...]
    timing: RawTiming | None = None  # only from raw events; None for terse traces
    # (field, kind) as the snippet read it from HTML semantics; empty for terse traces and older snippets
    kinds: tuple[tuple[str, str], ...] = ()

    def kind_map(self) -> dict[str, str]:
        return dict(self.kinds)


class TraceError(ValueError):
    """Invalid trace; .position is the 0-based token index (or None for whole-trace problems), message names it."""

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.position = position


def parse_trace(text: str) -> Trace:
    if not isinstance(text, str):
        raise TraceError(f"trace must be a string, got {type(text).__name__}")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TRACE_BYTES:
        raise TraceError(f"trace is {size} bytes, at most {MAX_TRACE_BYTES} allowed")
    pieces = _split_tokens(text)
    if not pieces:
        raise TraceError("trace is empty")
    if len(pieces) > MAX_TOKENS:
        raise TraceError(f"trace has {len(pieces)} tokens, at most {MAX_TOKENS} allowed")
    tokens = []
    for position, piece in enumerate(pieces):
        try:
            tokens.append(_parse_token(piece))
        except TraceError as exc:
            snippet = piece if len(piece) <= _SNIPPET_CHARS else piece[:_SNIPPET_CHARS] + "…"
            raise TraceError(f"token {position} {snippet!r}: {exc}", position) from None
    return Trace(tuple(tokens))


def _split_tokens(text: str) -> list[str]:
    """Commas and line breaks separate tokens; a comma ending a line (or the trace) adds no empty token."""
    pieces: list[str] = []
    for line in text.splitlines():
        if line := line.strip():
            pieces.extend(piece.strip() for piece in line.removesuffix(",").split(","))
    return pieces


@lru_cache(maxsize=4096)  # traces reuse a small vocabulary; Tokens are immutable, so sharing them is safe
def _parse_token(text: str) -> Token:
    """One token, or TraceError naming only the problem (the caller adds where)."""
    if not text:
        raise TraceError("empty token")
    shape = _SHAPE.fullmatch(text)
    if shape is None:
        raise TraceError("malformed token")
    kind, field, argument = shape.groups()
    if kind not in EVENT_KINDS:
        raise TraceError(f"unknown token kind {kind[:_SNIPPET_CHARS]!r}")
    if field is not None and not FIELD_RE.fullmatch(field):
        raise TraceError("malformed field (1-64 characters of a-z, 0-9 and _)")
    if kind == "scroll":
        duration = _DURATION.fullmatch(argument) if argument is not None else None
        if duration is None:
            raise TraceError("malformed duration (expected Nms)" if argument is not None else "missing duration (Nms)")
        return Token("scroll", field or "page", duration_ms=int(duration[1]))
    if kind in ("exit", "submit"):  # a field suffix (submit:form) says nothing the kind does not
        if argument is not None:
            raise TraceError(f"{kind} takes no argument")
        return Token(kind)
    if field is None:
        raise TraceError(f"{kind} without field")
    if argument is None:
        return Token(kind, field)
    if kind == "input":
        match = _COUNT.fullmatch(argument)
        if match is None:
            raise TraceError("malformed count (expected xN)")
        if (count := int(match[1])) < 1:
            raise TraceError("count must be at least 1")
        return Token("input", field, count=count)
    if kind == "blur":
        if not REASON_RE.fullmatch(argument):
            raise TraceError("malformed reason (1-64 characters of a-z, 0-9 and _)")
        return Token("blur", field, reason=argument)
    raise TraceError(f"{kind} takes no argument")


def serialise_trace(trace: Trace) -> str:
    return ", ".join(map(_token_text, trace.tokens))


def _token_text(token: Token) -> str:
    if token.kind in ("exit", "submit"):
        return token.kind
    if token.kind == "scroll":
        return f"scroll:{token.field or 'page'}({token.duration_ms}ms)"
    if token.kind == "input" and token.count != 1:
        return f"input:{token.field}(x{token.count})"
    if token.kind == "blur" and token.reason is not None:
        return f"blur:{token.field}({token.reason})"
    return f"{token.kind}:{token.field}"


@lru_cache(maxsize=8192)  # sessions repeat a few focus/blur tokens many times; building a frozen Token is not free
def _field_token(kind: str, field: str | None, reason: str | None) -> Token:
    return Token(kind, field, reason=reason)


def normalise_events(events: list[dict], *, max_tokens: int | None = MAX_TOKENS, keep_tail: bool = False) -> Trace:
    """Raw snippet events -> tokens (input runs compressed, idle gaps made explicit) and their timing."""
    try:
        events = parse_events(events, max_events=MAX_RAW_EVENTS)
    except SchemaError as exc:
        raise TraceError(str(exc)) from None
    if not events:
        raise TraceError("trace is empty: no events")

    tokens: list[Token] = []
    keystroke_intervals: list[int] = []
    focus_to_input: list[int] = []
    focused_at: dict[str, int] = {}  # field -> ts of its focus, until the first input or the blur
    kinds: dict[str, str] = {}
    previous_ts = events[0]["ts"]
    # A scroll's duration explains silence on either side of it: the snippet stamps a scroll when it
    # ends (covering the gap before), hand-written sessions often stamp it when it starts (covering
    # the gap after). Whatever a scroll does not explain before it is credited to the gap after it.
    credit = 0
    run_field: str | None = None
    run_count = 0
    for event in events:
        kind, ts, field = event["type"], event["ts"], event.get("field")
        uncovered = ts - previous_ts - credit
        if kind == "scroll":
            idle = uncovered - event["duration_ms"]
            credit = max(0, event["duration_ms"] - max(0, uncovered))
        else:
            idle, credit = uncovered, 0
        # An input run is kept as (field, count) and becomes one token when anything else happens.
        if run_field is not None and (kind != "input" or field != run_field or idle >= IDLE_GAP_MS):
            tokens.append(Token("input", run_field, count=run_count))
            run_field = None
        if idle >= IDLE_GAP_MS:
            tokens.append(Token("scroll", "page", duration_ms=idle))
        if kind == "input":
            if run_field is None:
                run_field, run_count = field, 1
            else:
                run_count += 1
                keystroke_intervals.append(ts - previous_ts)
            if field in focused_at:
                focus_to_input.append(ts - focused_at.pop(field))
        elif kind == "focus":
            tokens.append(_field_token("focus", field, None))
            focused_at[field] = ts
            if "kind" in event:
                kinds[field] = event["kind"]
        elif kind == "blur":
            tokens.append(_field_token("blur", field, event.get("validation")))
            focused_at.pop(field, None)
        elif kind == "scroll":
            tokens.append(Token("scroll", field or "page", duration_ms=event["duration_ms"]))
        elif kind in TAB_VISIBILITY:
            pass  # the time the tab was hidden is the gap to the next event: idle, written as scroll above
        else:
            tokens.append(_field_token(kind, None, None))
        previous_ts = ts
    if run_field is not None:
        tokens.append(Token("input", run_field, count=run_count))
    if not tokens:
        raise TraceError("trace has no form events (only tab visibility changes)")

    # The token limit of a terse trace applies; the byte limit does not (raw bodies are bounded by the API),
    # and a stored session may ask for its last max_tokens instead of a refusal.
    if max_tokens is not None and len(tokens) > max_tokens:
        if not keep_tail:
            raise TraceError(f"trace has {len(tokens)} tokens after normalisation, at most {max_tokens} allowed")
        tokens = tokens[-max_tokens:]
    gaps = [b["ts"] - a["ts"] for a, b in zip(events, events[1:], strict=False) if b["type"] not in TAB_VISIBILITY]
    timing = RawTiming(
        events[-1]["ts"] - events[0]["ts"],
        tuple(keystroke_intervals),
        tuple(focus_to_input),
        statistics.median(gaps) if gaps else 0.0,
    )
    return Trace(tuple(tokens), timing, tuple(kinds.items()))


def trace_from_input(value: str | list) -> Trace:
    """A terse trace string or a list of raw snippet events, as every classification entry point accepts."""
    if isinstance(value, str):
        return parse_trace(value)
    if isinstance(value, list):
        return normalise_events(value)
    raise TraceError(f"trace must be a string or a list of raw events, got {type(value).__name__}")
