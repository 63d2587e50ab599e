"""Per-field figures of one session, folded from its raw events (Zuko's metrics, value-free: the snippet sends none).

- ``position``: the order in which the visitor first entered the field (0 = first).
- ``time_ms``: time spent in the field, from each focus to its blur (or to the next event elsewhere, if no blur came).
- ``focus_count``: how often it was entered; refocus = ``focus_count - 1``.
- ``corrections``: how often typing started again in a field the visitor had already typed in and left, or whose
  validation had failed (the snippet sends no deletions: coming back to retype is what a correction looks like).
- ``failures`` and ``reason``: blurs that carried a validation reason, and the most frequent of those reasons.
- ``is_last``: the field the visitor touched last (what they were on when they left, for an abandoned session).
"""

from collections import Counter
from dataclasses import dataclass, field

FIELD_EVENTS = ("focus", "blur", "input")


@dataclass
class FieldFigures:
    field: str
    position: int
    focus_count: int = 0
    time_ms: int = 0
    inputs: int = 0
    corrections: int = 0
    failures: int = 0
    reasons: Counter = field(default_factory=Counter)
    is_last: bool = False

    @property
    def reason(self) -> str:
        return self.reasons.most_common(1)[0][0] if self.reasons else ""


def session_field_figures(events: list[dict]) -> list[FieldFigures]:
    """One ``FieldFigures`` per field the visitor touched, in the order they first entered them."""
    figures: dict[str, FieldFigures] = {}
    focused: tuple[str, int] | None = None  # (field, focus ts) while a field has the focus
    typed_then_left: set[str] = set()  # fields with input before their last blur: typing there again corrects
    typing_in: str | None = None  # the field of the typing run in progress
    last_field: str | None = None

    def leave(at: int) -> None:
        nonlocal focused
        if focused is not None:
            figures[focused[0]].time_ms += max(0, at - focused[1])
            focused = None

    for event in events:
        kind, name, at = event.get("type"), event.get("field"), event.get("ts", 0)
        if kind not in FIELD_EVENTS or not name:
            if kind in ("exit", "submit", "hide"):
                leave(at)
            continue
        current = figures.get(name) or figures.setdefault(name, FieldFigures(name, position=len(figures)))
        last_field = name
        if kind == "focus":
            leave(at)
            focused = (name, at)
            current.focus_count += 1
            typing_in = None
        elif kind == "blur":
            if focused is not None and focused[0] == name:
                leave(at)
            if current.inputs:
                typed_then_left.add(name)
            if event.get("validation"):
                current.failures += 1
                current.reasons[event["validation"]] += 1
                typed_then_left.add(name)
            typing_in = None
        else:  # input
            if typing_in != name and name in typed_then_left:
                current.corrections += 1
            if focused is None or focused[0] != name:
                leave(at)
                focused = (name, at)  # typing without a focus event (autofill, a script): time counts from here
            typing_in = name
            current.inputs += 1
    if events:
        leave(events[-1].get("ts", 0))
    if last_field is not None:
        figures[last_field].is_last = True
    return list(figures.values())
