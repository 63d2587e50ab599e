"""What the real snippet adds to a session, taught to the simulator: field kinds, idle scrolls, hidden tabs,
the blur of leaving, and form-builder names that say nothing.

Recorded browser sessions (training/browser/) show these artefacts; hand-written sessions mostly do not, so
only a share of simulated sessions get them. Applied after a behaviour has played, on its raw events.
"""

import random

# Simulator field kinds → what the page's HTML says (input type, autocomplete, tag), alternatives drawn per form.
HTML_KINDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "email", "text"),
    "password": ("password",),
    "password_confirm": ("password",),
    "phone": ("tel", "tel", "text"),
    "state": ("select", "text"),
    "country": ("select",),
    "card_number": ("number", "text"),
    "card_expiry": ("text", "date"),
    "cvv": ("number", "text"),
    "date": ("date", "text"),
    "amount": ("number", "text", "select"),
    "message": ("textarea",),
    "otp": ("number", "text"),
    "choice": ("select", "radio", "radio", "checkbox"),
    "checkbox": ("checkbox",),
}
FILE_WORDS = ("upload", "scan", "document", "resume", "cv", "statement", "payslip", "proof", "transcript", "portfolio", "card")
CONSENT_WORDS = ("terms", "privacy", "consent", "gdpr", "agree", "policy", "signature")
AMOUNT_WORDS = ("income", "revenue", "salary", "employees", "size", "score", "years")

IDLE_SCROLL_MS = 2000  # the snippet reports a pause this long as a scroll when the visitor acts again
HIDDEN_TAB_MS = 20_000  # long absences are often a tab switch: hide, show and a refocus
LEAVE_BLUR_MS = (5, 110)  # the focused field blurs just before the page goes (link click, tab close)
OPAQUE_STYLES = ("input_{}", "field_{}", "q{}", "element_{}", "f{}")
OPAQUE_REGION_STYLES = ("block_{}", "section_{}", "panel_{}", "box_{}")


def html_kind(rng: random.Random, name: str, sim_kind: str | None) -> str:
    if sim_kind is not None:
        return rng.choice(HTML_KINDS.get(sim_kind, ("text",)))
    if any(word in name for word in FILE_WORDS):
        return "file"
    if any(word in name for word in CONSENT_WORDS):
        return rng.choice(("checkbox", "region"))
    if any(word in name for word in AMOUNT_WORDS):
        return rng.choice(("number", "select", "text"))
    if "employ" in name or "status" in name:
        return "select"
    return "region"


def opaque_names(rng: random.Random, events: list[dict], kinds: dict[str, str]) -> dict[str, str]:
    """Form-builder names (input_3, block_2) in order of first appearance."""
    style, region_style = rng.choice(OPAQUE_STYLES), rng.choice(OPAQUE_REGION_STYLES)
    start = rng.choice((0, 1, 1, 1, 3, 7))
    names: dict[str, str] = {}
    for event in events:
        field = event.get("field")
        if field is None or field in names:
            continue
        index = start + len(names)
        names[field] = (region_style if kinds.get(field) == "region" else style).format(index)
    return names


def as_browser_session(
    rng: random.Random,
    events: list[dict],
    form: list[tuple[str, str]],
    *,
    kinds: bool = True,
    opaque: bool = False,
    artefacts: bool = True,
) -> list[dict]:
    """The same visit as the snippet would have sent it (``artefacts``: idle scrolls, tab switches, leaving blurs)."""
    sim_kinds = {name: kind for kind, name in form}
    field_kinds: dict[str, str] = {}
    for event in events:
        field = event.get("field")
        if event["type"] == "focus" and field not in field_kinds:
            field_kinds[field] = html_kind(rng, field, sim_kinds.get(field))
    out: list[dict] = []
    focused: str | None = None
    previous_ts = events[0]["ts"] if events else 0
    for event in events:
        gap = event["ts"] - previous_ts
        kind = event["type"]
        if artefacts and kind in ("focus", "input", "exit", "submit") and gap >= IDLE_SCROLL_MS:
            if gap >= HIDDEN_TAB_MS and rng.random() < 0.5:
                out += _hidden_tab(rng, previous_ts, event, focused)
            elif rng.random() < 0.85 and not (out and out[-1]["type"] == "scroll" and out[-1]["ts"] == event["ts"]):
                out.append({"type": "scroll", "ts": event["ts"], "duration_ms": gap})
        if artefacts and kind == "exit" and focused is not None and rng.random() < 0.6:
            since = out[-1]["ts"] if out else previous_ts
            out.append({"type": "blur", "field": focused, "ts": max(since, event["ts"] - rng.randint(*LEAVE_BLUR_MS))})
            focused = None
        out.append(dict(event))
        if kind == "focus":
            focused = event["field"]
        elif kind == "blur" and event.get("field") == focused or kind in ("exit", "submit"):
            focused = None
        previous_ts = event["ts"]
    if kinds:
        for event in out:
            if event["type"] == "focus":
                event["kind"] = field_kinds[event["field"]]
    if opaque:
        names = opaque_names(rng, out, field_kinds)
        for event in out:
            if "field" in event:
                event["field"] = names[event["field"]]
    return out


def _hidden_tab(rng: random.Random, since: int, event: dict, focused: str | None) -> list[dict]:
    """A tab switch: the focused field blurs, the page hides, and (unless it is closed while hidden) shows again."""
    hidden_at = since + rng.randint(200, 3000)
    added = []
    if focused is not None:
        added.append({"type": "blur", "field": focused, "ts": hidden_at - 2})
    added.append({"type": "hide", "ts": hidden_at})
    if event["type"] != "exit":
        shown_at = event["ts"] - rng.randint(300, 1500)
        added.append({"type": "show", "ts": shown_at})
        if focused is not None and rng.random() < 0.7:  # Chromium gives focus back to the field on return
            added.append({"type": "focus", "field": focused, "ts": shown_at + 1})
    return added
