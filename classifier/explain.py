"""Explanations in operator words: the evidence for the predicted class, read off the trace.

Each statement is made only when the trace supports it.
"""

from dataclasses import dataclass

from .backends.base import Explanation
from .features import LONG_IDLE_MS, field_activity
from .lexicon import is_informational, is_requirement
from .trace import Trace

MAX_SIGNALS = 3


def human_duration(ms: float) -> str:
    seconds = ms / 1000
    if seconds < 1:
        return f"{int(ms)} ms"
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _names(fields: list[str], limit: int = 3) -> str:
    shown = ", ".join(fields[:limit])
    return shown + (f" and {len(fields) - limit} more" if len(fields) > limit else "")


@dataclass
class _Evidence:
    """What the explanations read off a trace, computed once."""

    trace: Trace
    activity: dict
    typed: list[str]
    failing: list[str]
    longest_idle: int
    looked_only: list[str]

    @classmethod
    def of(cls, trace: Trace) -> "_Evidence":
        activity = field_activity(trace)
        return cls(
            trace=trace,
            activity=activity,
            typed=[f for f, a in activity.items() if a["keystrokes"]],
            failing=sorted((f for f, a in activity.items() if a["failures"]), key=lambda f: -activity[f]["failures"]),
            longest_idle=max((t.duration_ms or 0 for t in trace.tokens if t.kind == "scroll"), default=0),
            looked_only=[f for f, a in activity.items() if a["focus"] and not a["keystrokes"]],
        )

    def typed_after(self, field: str) -> list[str]:
        """Fields typed after ``field`` first failed."""
        tokens = self.trace.tokens
        first = next((i for i, t in enumerate(tokens) if t.kind == "blur" and t.field == field and t.reason), len(tokens))
        return sorted({t.field for t in tokens[first:] if t.kind == "input" and t.field != field})


def _validation_error(e: _Evidence) -> tuple[list[str], str]:
    signals = []
    for field in e.failing[:2]:
        a = e.activity[field]
        times = "once" if a["failures"] == 1 else f"{a['failures']} times"
        signals.append(f"{field} failed validation {times} ({a['reason']})")
    if not e.failing:
        return ["no validation failure was recorded"], "The visitor seems blocked by the form, though no failure was recorded."
    later = e.typed_after(e.failing[0])
    signals.append(f"then typed only {_names(later)}" if later else f"no progress past {e.failing[0]} before leaving")
    return signals, f"The visitor was trying to finish but {e.failing[0]} kept failing validation, so they left."


def _distraction(e: _Evidence) -> tuple[list[str], str]:
    tokens = e.trace.tokens
    signals = []
    idle_at = next(
        (i for i, t in enumerate(tokens) if t.kind == "scroll" and (t.duration_ms or 0) == e.longest_idle), len(tokens)
    )
    if e.longest_idle:
        before = len({t.field for t in tokens[:idle_at] if t.kind == "input"})
        signals.append(f"idle {human_duration(e.longest_idle)} after {_plural(before, 'field')}")
    errors = " without errors" if not e.failing else ""
    signals.append(f"{_plural(len(e.typed), 'field')} filled{errors}")
    if any(t.kind in ("focus", "input") for t in tokens[idle_at + 1 :]):
        signals.append("came back briefly after the pause, then left")
    pause = f"{human_duration(e.longest_idle)} of inactivity" if e.longest_idle else "a long inactivity"
    return signals, f"Steady progress, then {pause} and no return to finish."


def _comparison_shopping(e: _Evidence) -> tuple[list[str], str]:
    signals = []
    kinds = e.trace.kind_map()
    browsed = [f for f in e.looked_only if is_informational(f) or kinds.get(f) == "region"] or e.looked_only
    if browsed:
        visits = sum(e.activity[f]["focus"] for f in browsed)
        signals.append(f"looked at {_names(browsed)} ({_plural(visits, 'visit')}) without typing")
    revisited = [f for f in browsed if e.activity[f]["focus"] > 1]
    if revisited:
        signals.append(f"returned to {revisited[0]} {e.activity[revisited[0]]['focus']} times")
    signals.append(f"typed only {_names(e.typed)}" if e.typed else "typed nothing in the form")
    return signals, "The visitor was evaluating the offer (prices, plans, terms) rather than filling the form."


def _accidental_exit(e: _Evidence) -> tuple[list[str], str]:
    tokens = e.trace.tokens
    keystrokes = sum(e.activity[f]["keystrokes"] for f in e.typed)
    errors = ", no errors" if not e.failing else ""
    signals = [f"typed {_plural(len(e.typed), 'field')} fluently ({_plural(keystrokes, 'keystroke')}){errors}"]
    end = tokens[-2] if len(tokens) >= 2 and tokens[-1].kind in ("exit", "submit") else tokens[-1]
    if end.kind == "input":
        signals.append(f"left mid-way through {end.field} after {_plural(end.count, 'keystroke')}")
    if e.longest_idle < LONG_IDLE_MS:
        signals.append("no pause before leaving")
    return signals, "The visitor was actively filling the form and left abruptly, likely by accident (back button, closed tab)."


def _bot(e: _Evidence) -> tuple[list[str], str]:
    tokens = e.trace.tokens
    signals = []
    if not any(t.kind == "focus" for t in tokens):
        signals.append(f"{sum(t.count for t in tokens if t.kind == 'input')} keystrokes injected with no focus or blur")
    burst = max((t for t in tokens if t.kind == "input"), key=lambda t: t.count, default=None)
    if burst is not None and burst.count >= 40:
        signals.append(f"{burst.count} characters in {burst.field} in one burst")
    if e.trace.timing is not None:
        signals.append(f"whole session in {human_duration(e.trace.timing.duration_ms)}")
    runs = [t.field for t in tokens if t.kind == "input"]
    if runs and len(runs) >= 3 and all(t.count == 1 for t in tokens if t.kind == "input"):
        signals.append(f"each of {_plural(len(set(runs)), 'field')} set in a single input event, as automation tools do")
    if tokens and tokens[-1].kind == "submit":
        in_order = len(runs) == len(set(runs))
        signals.append("each field filled once, in order, then submitted" if in_order else "ended in a submit")
    return signals, "The input pattern is mechanically impossible for a human visitor."


def _committed_leave(e: _Evidence) -> tuple[list[str], str]:
    signals = []
    kinds = e.trace.kind_map()
    required = [f for f in e.activity if is_requirement(f) or kinds.get(f) == "file"]
    if required:
        uploads = " (a file upload)" if any(kinds.get(f) == "file" for f in required) else ""
        signals.append(f"looked at {_names(required)}{uploads} and left")
    if e.looked_only:
        typed_too = f", typed {_names(e.typed)}" if e.typed else ""
        signals.append(f"focused {_plural(len(e.looked_only), 'field')} without typing{typed_too}")
    elif not e.typed:
        signals.append("only glanced at the page, typed nothing")
    if not e.failing and e.longest_idle < LONG_IDLE_MS:
        signals.append("no validation errors and no long pause")
    if e.trace.timing is not None:
        signals.append(f"short session: {human_duration(e.trace.timing.duration_ms)}")
    return signals, "The visitor looked at what the form asks for and decided not to continue."


_BY_CLASS = {1: _validation_error, 2: _distraction, 3: _comparison_shopping, 4: _accidental_exit, 5: _bot, 6: _committed_leave}


def explain(trace: Trace, code: int) -> Explanation:
    signals, reason = _BY_CLASS[code](_Evidence.of(trace))
    return Explanation(signals=signals[:MAX_SIGNALS], reason=reason)
