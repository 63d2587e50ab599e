"""A session as an operator reads it: its raw events folded into a timeline (fields entered, typing runs, failures
with their reason, idle and hidden time, how it ended), never any value (the snippet sends none)."""

from dataclasses import dataclass

IDLE_SHOWN_MS = 5_000  # shorter pauses are part of typing and reading, not worth a line


@dataclass(frozen=True)
class Step:
    at_ms: int  # since the session's first event
    what: str  # "focus", "typing", "failure", "idle", "hidden", "exit", "submit", "left field"
    text: str

    @property
    def clock(self) -> str:
        seconds = self.at_ms // 1000
        return f"{seconds // 60}:{seconds % 60:02d}"


def _duration(ms: int) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def session_timeline(events: list[dict]) -> list[Step]:
    """One step per thing that happened; keystrokes in one field between its focus and blur are one typing run."""
    if not events:
        return []
    start = events[0]["ts"]
    steps: list[Step] = []
    run: dict | None = None  # the typing run in progress: field, first ts, keystrokes
    hidden_at: int | None = None

    def close_run() -> None:
        nonlocal run
        if run is not None:
            span = _duration(run["last"] - run["first"]) if run["keys"] > 1 else "one input"
            steps.append(Step(run["first"] - start, "typing", f"typed {run['keys']} key(s) in {run['field']} ({span})"))
            run = None

    for event in events:
        kind, field, at = event["type"], event.get("field") or "the page", event["ts"] - start
        if kind == "input":
            if run is not None and run["field"] == field:
                run["keys"] += 1
                run["last"] = event["ts"]
                continue
            close_run()
            run = {"field": field, "first": event["ts"], "last": event["ts"], "keys": 1}
            continue
        close_run()
        if kind == "focus":
            kind_note = f" ({event['kind']})" if event.get("kind") else ""
            steps.append(Step(at, "focus", f"entered {field}{kind_note}"))
        elif kind == "blur" and event.get("validation"):
            steps.append(Step(at, "failure", f"{field} failed validation: {event['validation']}"))
        elif kind == "blur":
            steps.append(Step(at, "left field", f"left {field}"))
        elif kind == "scroll" and event.get("duration_ms", 0) >= IDLE_SHOWN_MS:
            steps.append(Step(at, "idle", f"idle or scrolling for {_duration(event['duration_ms'])}"))
        elif kind == "hide":
            hidden_at = event["ts"]
            steps.append(Step(at, "hidden", "switched away (tab hidden)"))
        elif kind == "show":
            away = f" after {_duration(event['ts'] - hidden_at)}" if hidden_at is not None else ""
            hidden_at = None
            steps.append(Step(at, "hidden", f"came back to the tab{away}"))
        elif kind == "exit":
            steps.append(Step(at, "exit", "left the page"))
        elif kind == "submit":
            steps.append(Step(at, "submit", "submitted the form"))
    close_run()
    return steps
