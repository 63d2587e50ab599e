"""Explanations in operator words: the evidence for the predicted class, read off the trace."""

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


def explain(trace: Trace, code: int) -> Explanation:
    activity = field_activity(trace)
    tokens = trace.tokens
    typed = [f for f, a in activity.items() if a["keystrokes"] and f != "page"]
    failing = sorted((f for f, a in activity.items() if a["failures"]), key=lambda f: -activity[f]["failures"])
    scrolls = [t.duration_ms or 0 for t in tokens if t.kind == "scroll"]
    longest = max(scrolls, default=0)
    info = [f for f in activity if is_informational(f)]
    required = [f for f in activity if is_requirement(f)]
    looked_only = [f for f, a in activity.items() if a["focus"] and not a["keystrokes"]]
    signals: list[str] = []

    if code == 1:
        for f in failing[:2]:
            a = activity[f]
            times = "once" if a["failures"] == 1 else f"{a['failures']} times"
            signals.append(f"{f} failed validation {times} ({a['reason']})")
        if failing:
            signals.append(f"no progress past {failing[0]} before leaving")
        reason = (
            f"The visitor was trying to finish but {failing[0] if failing else 'a field'} kept failing validation, so they left."
        )
    elif code == 2:
        idle_at = next((i for i, t in enumerate(tokens) if t.kind == "scroll" and (t.duration_ms or 0) == longest), len(tokens))
        before = len({t.field for t in tokens[:idle_at] if t.kind == "input"})
        if longest:
            signals.append(f"idle {human_duration(longest)} after {_plural(before, 'field')}")
        signals.append(
            f"{_plural(len(typed), 'field')} filled without errors" if not failing else f"{_plural(len(typed), 'field')} filled"
        )
        if any(t.kind in ("focus", "input") for t in tokens[idle_at + 1 :]):
            signals.append("came back briefly after the pause, then left")
        reason = (
            f"Steady progress, then {human_duration(longest) if longest else 'a long'} of inactivity and no return to finish."
        )
    elif code == 3:
        if info:
            visits = sum(activity[f]["focus"] for f in info)
            signals.append(f"looked at {_names(info)} ({_plural(visits, 'visit')}) without typing")
        revisited = [f for f in info if activity[f]["focus"] > 1]
        if revisited:
            signals.append(f"returned to {revisited[0]} {activity[revisited[0]]['focus']} times")
        signals.append(f"typed only {_names(typed)}" if typed else "typed nothing in the form")
        reason = "The visitor was evaluating prices and terms of the offer rather than filling the form."
    elif code == 4:
        keystrokes = sum(activity[f]["keystrokes"] for f in typed)
        signals.append(f"typed {_plural(len(typed), 'field')} fluently ({keystrokes} keystrokes), no errors")
        end = tokens[-2] if len(tokens) >= 2 and tokens[-1].kind in ("exit", "submit") else tokens[-1]
        if end.kind == "input":
            signals.append(f"left mid-way through {end.field} after {_plural(end.count, 'keystroke')}")
        if longest < LONG_IDLE_MS:
            signals.append("no pause before leaving")
        reason = "The visitor was actively filling the form and left abruptly, likely by accident (back button, closed tab)."
    elif code == 5:
        no_focus = sum(t.count for t in tokens if t.kind == "input") if not any(t.kind == "focus" for t in tokens) else 0
        if no_focus:
            signals.append(f"{no_focus} keystrokes injected with no focus or blur")
        burst = max((t for t in tokens if t.kind == "input"), key=lambda t: t.count, default=None)
        if burst is not None and burst.count >= 40:
            signals.append(f"{burst.count} characters in {burst.field} in one burst")
        timing = trace.timing
        if timing is not None:
            signals.append(f"whole session in {human_duration(timing.duration_ms)}")
        if tokens and tokens[-1].kind == "submit":
            signals.append("fields filled in strict order, then submitted")
        reason = "The input pattern is mechanically impossible for a human visitor."
    else:
        if required:
            signals.append(f"looked at {_names(required)} and left")
        if looked_only:
            typed_too = f", typed {_names(typed)}" if typed else ""
            signals.append(f"focused {_plural(len(looked_only), 'field')} without typing{typed_too}")
        elif not typed:
            signals.append("only glanced at the page, typed nothing")
        signals.append("no validation errors and no long pause")
        if trace.timing is not None:
            signals.append(f"short session: {human_duration(trace.timing.duration_ms)}")
        reason = "The visitor looked at what the form asks for and decided not to continue."
    return Explanation(signals=signals[:MAX_SIGNALS], reason=reason)
