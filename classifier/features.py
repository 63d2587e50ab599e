"""Numeric features of a trace: the evidence a human labeller reads off a session.

Computed from tokens, so a terse trace and the raw session it came from give the same
values; raw sessions add timing features (keystroke intervals), flagged by ``has_timing``.
"""

import math
import statistics
from collections import Counter, defaultdict

import numpy as np

from .lexicon import is_hard_reason, is_informational, is_requirement
from .trace import Trace

LONG_IDLE_MS = 20_000
CONTACT_KINDS = frozenset(("email", "tel"))
CHOICE_KINDS = frozenset(("select", "checkbox", "radio", "date", "file"))  # one input event is a whole answer
NOT_INFORMATIONAL_KINDS = frozenset(("email", "tel", "password", "date", "file"))
MID_IDLE_MS = 8_000
BOT_KEYSTROKE_MS = 25

FEATURE_NAMES: tuple[str, ...] = (
    # shape
    "log_tokens", "log_keystrokes", "n_fields", "n_fields_typed", "typed_fraction", "n_focus_without_input",
    "has_submit", "ends_with_submit", "ends_with_exit", "starts_with_input", "input_token_fraction",
    # validation
    "n_failures", "n_fields_failed", "max_failures_one_field", "n_distinct_reasons", "failure_fraction_of_blurs",
    "has_hard_failure", "only_required_failures", "refocus_after_failure", "fields_typed_after_first_failure",
    "tokens_after_last_failure", "ends_near_failure",
    # idle and scrolling
    "log_max_scroll_s", "log_total_scroll_s", "n_long_idle", "n_mid_idle", "n_short_scroll", "fields_typed_before_long_idle",
    "tokens_after_long_idle", "inputs_after_long_idle", "long_idle_position",
    # informational regions and requirement-heavy fields
    "n_info_focus", "n_info_distinct", "info_revisits", "info_focus_fraction", "n_info_typed", "n_req_focus",
    "n_req_typed", "req_focus_fraction", "n_plain_focus_no_input", "n_looked_distinct", "looked_revisits", "looked_fraction",
    # bots
    "inputs_without_focus", "inputs_without_focus_fraction", "no_focus_at_all", "no_blur_with_inputs", "log_max_run",
    "log_mean_keystrokes_per_field", "n_runs_over_100", "strict_single_pass", "focus_input_no_blur_fraction", "no_scroll",
    # abrupt endings
    "ends_mid_field", "log_last_run", "n_clean_cycles", "clean_cycle_fraction", "last_field_clean",
    # raw timing (zero when the trace is terse)
    "has_timing", "log_duration_s", "log_median_keystroke_ms", "fast_keystroke_fraction", "log_median_focus_to_input_ms",
    "log_median_event_gap_ms", "keystroke_regularity",
    # field kinds (zero when the trace carries none: terse traces, older snippets)
    "has_kinds", "n_region_focus", "region_focus_fraction", "n_unnamed_region_focus", "n_file_focus", "n_file_typed",
    "n_contact_typed", "n_choice_typed",
    # automation tools and recovered failures
    "one_keystroke_field_fraction", "failed_fields_fixed_fraction", "clean_fields_after_last_failure",
)  # fmt: skip
FEATURE_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


def log1p(value: float) -> float:
    return math.log1p(max(0.0, value))


REGULAR_MIN_INTERVALS = 8


def keystroke_regularity(intervals: tuple[int, ...]) -> float:
    """The share of key gaps within a few per cent of their median. A person's gaps spread (lognormal, sigma 0.25 or
    more: a third at most land that close); a script paced by a timer repeats its delay to the millisecond. Zero
    when there are too few gaps to tell."""
    if len(intervals) < REGULAR_MIN_INTERVALS:
        return 0.0
    middle = statistics.median(intervals)
    tolerance = max(3.0, 0.08 * middle)
    return sum(1 for gap in intervals if abs(gap - middle) <= tolerance) / len(intervals)


def trace_features(trace: Trace) -> np.ndarray:
    return np.asarray(_feature_values(trace), dtype=np.float64)


def features_matrix(traces) -> np.ndarray:
    return np.asarray([_feature_values(t) for t in traces], dtype=np.float64).reshape(-1, len(FEATURE_NAMES))


def _feature_values(trace: Trace) -> list[float]:  # noqa: C901 - one pass over the tokens, kept together on purpose
    tokens = trace.tokens
    n = len(tokens)
    kinds = trace.kind_map()

    # A kind says what the name may not: an upload is a requirement and an e-mail box no price region, in any language.
    if kinds:

        def is_req(field: str) -> bool:
            return kinds.get(field) == "file" or is_requirement(field)

        def is_info(field: str) -> bool:
            return kinds.get(field) not in NOT_INFORMATIONAL_KINDS and is_informational(field)
    else:
        is_req, is_info = is_requirement, is_informational

    keystrokes = 0
    fields: set[str] = set()
    typed: Counter[str] = Counter()
    input_tokens_per_field: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    reasons: set[str] = set()
    hard = False
    only_required = True
    first_failure_at = last_failure_at = None
    refocus_after_failure = 0
    typed_after_failure: set[str] = set()
    scrolls: list[tuple[int, int]] = []  # (token index, ms)
    info_focus: Counter[str] = Counter()
    info_typed = req_focus = req_typed = 0
    focus_count = blur_count = input_count = 0
    focus_without_input = plain_focus_no_input = 0
    inputs_without_focus = 0
    focus_input_no_blur = 0
    clean_cycles = 0
    max_run = 0
    runs_over_100 = 0
    focused: str | None = None
    focus_had_input = False
    last_clean_field: str | None = None
    blurs_failed = 0

    def close_focus(next_kind: str) -> None:
        nonlocal focus_without_input, plain_focus_no_input, focus_input_no_blur
        if focused is None:
            return
        if not focus_had_input:
            focus_without_input += 1
            if not is_info(focused) and not is_req(focused):
                plain_focus_no_input += 1
        elif next_kind != "blur":
            focus_input_no_blur += 1

    for index, token in enumerate(tokens):
        kind, field = token.kind, token.field
        if kind == "focus":
            close_focus("focus")
            focus_count += 1
            fields.add(field)
            if failures[field]:
                refocus_after_failure += 1
            if is_info(field):
                info_focus[field] += 1
            elif is_req(field):
                req_focus += 1
            focused, focus_had_input = field, False
        elif kind == "input":
            input_count += 1
            fields.add(field)
            keystrokes += token.count
            typed[field] += token.count
            input_tokens_per_field[field] += 1
            max_run = max(max_run, token.count)
            runs_over_100 += token.count >= 100
            if focused != field:
                inputs_without_focus += 1
            else:
                focus_had_input = True
            if is_info(field):
                info_typed += 1
            elif is_req(field):
                req_typed += 1
            if first_failure_at is not None and not failures[field]:
                typed_after_failure.add(field)
        elif kind == "blur":
            blur_count += 1
            fields.add(field)
            if token.reason:
                blurs_failed += 1
                failures[field] += 1
                reasons.add(token.reason)
                hard = hard or is_hard_reason(token.reason)
                only_required = only_required and token.reason == "required"
                last_failure_at = index
                if first_failure_at is None:
                    first_failure_at = index
            elif focused == field and focus_had_input:
                clean_cycles += 1
                last_clean_field = field
            if focused == field:
                close_focus("blur")
                focused = None
        elif kind == "scroll":
            scrolls.append((index, token.duration_ms or 0))
        else:  # exit / submit end whatever is focused
            close_focus(kind)
            focused = None

    last = tokens[-1].kind if n else ""
    before_end = tokens[-2] if n >= 2 and last in ("exit", "submit") else (tokens[-1] if n else None)
    ends_mid_field = float(before_end is not None and before_end.kind == "input")
    last_run = before_end.count if before_end is not None and before_end.kind == "input" else 0

    scroll_ms = [ms for _, ms in scrolls]
    long_idles = [(i, ms) for i, ms in scrolls if ms >= LONG_IDLE_MS]
    if long_idles:
        idle_at = max(long_idles, key=lambda item: item[1])[0]
        typed_before_idle = len({t.field for t in tokens[:idle_at] if t.kind == "input"})
        after_idle = tokens[idle_at + 1 :]
        tokens_after_idle = sum(1 for t in after_idle if t.kind not in ("exit", "submit"))
        inputs_after_idle = sum(t.count for t in after_idle if t.kind == "input")
        idle_position = idle_at / max(1, n - 1)
    else:
        typed_before_idle = tokens_after_idle = inputs_after_idle = 0
        idle_position = 0.0

    n_fields = len(fields)
    n_typed = len(typed)
    # Looked at but never typed in, whatever the name: comparison shoppers come back to these.
    looked_focus = Counter(t.field for t in tokens if t.kind == "focus" and t.field not in typed)
    n_looked = len(looked_focus)
    info_total = sum(info_focus.values())
    timing = trace.timing
    if timing is not None:
        intervals = timing.keystroke_intervals_ms
        focus_gaps = timing.focus_to_input_ms
        timing_values = [
            1.0,
            log1p(timing.duration_ms / 1000),
            log1p(statistics.median(intervals)) if intervals else 0.0,
            sum(1 for gap in intervals if gap < BOT_KEYSTROKE_MS) / len(intervals) if intervals else 0.0,
            log1p(statistics.median(focus_gaps)) if focus_gaps else 0.0,
            log1p(timing.median_event_gap_ms),
            keystroke_regularity(intervals),
        ]
    else:
        timing_values = [0.0] * 7

    kind_values = _kind_values(trace, kinds, typed, focus_count, is_info, is_req)
    recovery_values = _failure_recovery_values(tokens, failures, last_failure_at, typed, kinds)

    return [
        log1p(n),
        log1p(keystrokes),
        n_fields,
        n_typed,
        n_typed / n_fields if n_fields else 0.0,
        focus_without_input,
        float(any(t.kind == "submit" for t in tokens)),
        float(last == "submit"),
        float(last == "exit"),
        float(n > 0 and tokens[0].kind == "input"),
        input_count / n if n else 0.0,
        # validation
        sum(failures.values()),
        len(failures),
        max(failures.values(), default=0),
        len(reasons),
        blurs_failed / blur_count if blur_count else 0.0,
        float(hard),
        float(bool(failures) and only_required),
        refocus_after_failure,
        len(typed_after_failure),
        (n - 1 - last_failure_at) if last_failure_at is not None else -1.0,
        float(last_failure_at is not None and n - 1 - last_failure_at <= 3),
        # idle
        log1p(max(scroll_ms, default=0) / 1000),
        log1p(sum(scroll_ms) / 1000),
        len(long_idles),
        sum(1 for ms in scroll_ms if MID_IDLE_MS <= ms < LONG_IDLE_MS),
        sum(1 for ms in scroll_ms if ms < MID_IDLE_MS),
        typed_before_idle,
        tokens_after_idle,
        log1p(inputs_after_idle),
        idle_position,
        # info and requirements
        info_total,
        len(info_focus),
        info_total - len(info_focus),
        info_total / focus_count if focus_count else 0.0,
        info_typed,
        req_focus,
        req_typed,
        req_focus / focus_count if focus_count else 0.0,
        plain_focus_no_input,
        n_looked,
        sum(looked_focus.values()) - n_looked,
        n_looked / n_fields if n_fields else 0.0,
        # bots
        inputs_without_focus,
        inputs_without_focus / input_count if input_count else 0.0,
        float(focus_count == 0 and input_count > 0),
        float(blur_count == 0 and input_count > 0),
        log1p(max_run),
        log1p(keystrokes / n_typed) if n_typed else 0.0,
        runs_over_100,
        float(n_typed > 0 and all(count == 1 for count in input_tokens_per_field.values()) and not failures),
        focus_input_no_blur / focus_count if focus_count else 0.0,
        float(not scrolls),
        # abrupt endings
        ends_mid_field,
        log1p(last_run),
        clean_cycles,
        clean_cycles / focus_count if focus_count else 0.0,
        float(last_clean_field is not None and before_end is not None and before_end.kind == "blur" and not before_end.reason),
        *timing_values,
        *kind_values,
        *recovery_values,
    ]


def _kind_values(trace: Trace, kinds: dict[str, str], typed: Counter, focus_count: int, is_info, is_req) -> list[float]:
    if not kinds:
        return [0.0] * 8
    region_focus = unnamed_region_focus = file_focus = 0
    for token in trace.tokens:
        if token.kind != "focus":
            continue
        kind = kinds.get(token.field)
        if kind == "region":
            region_focus += 1
            # A region whose name says neither price nor terms: only its shape can tell shopping from reading the rules.
            unnamed_region_focus += not is_info(token.field) and not is_req(token.field)
        elif kind == "file":
            file_focus += 1
    return [
        1.0,
        region_focus,
        region_focus / focus_count if focus_count else 0.0,
        unnamed_region_focus,
        file_focus,
        sum(1 for field in typed if kinds.get(field) == "file"),
        sum(1 for field in typed if kinds.get(field) in CONTACT_KINDS),
        sum(1 for field in typed if kinds.get(field) in CHOICE_KINDS),
    ]


def _failure_recovery_values(tokens, failures: Counter, last_failure_at: int | None, typed: Counter, kinds: dict) -> list[float]:
    """Automation tools set a whole value in one input event; a failure later fixed is no longer what blocks."""
    focused_typed: set[str] = set()
    focused = None
    last_blur_clean: dict[str, bool] = {}
    clean_after: set[str] = set()
    for index, token in enumerate(tokens):
        if token.kind == "focus":
            focused = token.field
        elif token.kind == "input" and token.field == focused:
            focused_typed.add(token.field)
        elif token.kind == "blur":
            if token.field in failures:
                last_blur_clean[token.field] = not token.reason
            if not token.reason and last_failure_at is not None and index > last_failure_at and token.field in typed:
                clean_after.add(token.field)
    text_like = [f for f in focused_typed if kinds.get(f) not in CHOICE_KINDS]
    return [
        sum(1 for f in text_like if typed[f] == 1) / len(text_like) if text_like else 0.0,
        sum(last_blur_clean.values()) / len(failures) if failures else 0.0,
        len(clean_after),
    ]


def field_activity(trace: Trace) -> dict[str, dict[str, int]]:
    """Per-field counts for explanations: focuses, keystrokes, failures (with the last reason)."""
    activity: dict[str, dict] = defaultdict(lambda: {"focus": 0, "keystrokes": 0, "failures": 0, "reason": ""})
    for token in trace.tokens:
        if token.field is None or token.kind == "scroll":
            continue
        entry = activity[token.field]
        if token.kind == "focus":
            entry["focus"] += 1
        elif token.kind == "input":
            entry["keystrokes"] += token.count
        elif token.kind == "blur" and token.reason:
            entry["failures"] += 1
            entry["reason"] = token.reason
    return dict(activity)
