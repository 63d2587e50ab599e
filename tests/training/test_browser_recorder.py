"""The browser session recorder: scripted visitors in real Chromium, the real snippet, labelled raw sessions.

Records two sessions per class (one of them an autofill on the checkout, one on form-builder names) and checks
what a dataset needs: every class there and nothing lost, events the server accepts and normalises, bot
keystrokes milliseconds apart and human ones not, autofill inputs without focus, opaque names without English
in them, and the same seed giving the same sessions.
"""

import dataclasses
import json
import statistics
import subprocess
import time

import pytest

from classifier.labels import CLASSES
from classifier.trace import MAX_RAW_EVENTS, normalise_events
from formrecap.ingest.schema import parse_events
from training.browser.forms import TEMPLATES
from training.browser.naming import SCHEMES
from training.browser.personas import VARIANTS, VARIANTS_BY_NAME
from training.browser.recorder import Summary, plan_sessions, record_plans

# Every recording runs in a worker process under the recorder's watchdog: a stuck browser is killed, never waited on.
pytestmark = pytest.mark.browser

SEED = 4242


def test_the_catalogue_covers_the_brief():
    assert len(TEMPLATES) >= 14
    assert {v.label for v in VARIANTS} == set(CLASSES.values())
    for name in CLASSES.values():
        difficulties = {v.difficulty for v in VARIANTS if v.label == name}
        assert difficulties == {"clear", "borderline"}, name
    assert {"snake", "camel", "bracketed", "de", "fr", "es", "pt", "it", "nl", "opaque"} <= set(SCHEMES)


def plans():
    planned = plan_sessions(12, SEED)
    accidental = next(i for i, p in enumerate(planned) if p.cls == "accidental_exit")
    planned[accidental] = dataclasses.replace(
        planned[accidental], variant="autofill_then_type", difficulty="clear", form="shop_checkout", departure="back"
    )
    opaque = next(i for i, p in enumerate(planned) if p.cls == "committed_leave")
    planned[opaque] = dataclasses.replace(
        planned[opaque],
        variant="one_field_then_requirements",
        difficulty="clear",
        form="loan_quote",
        naming="opaque",
        departure="close",
    )
    return planned


@pytest.fixture(scope="module")
def recorded():
    records, summary = record_plans(plans(), workers=2)
    return records, summary


def by_variant(records, name):
    return next(r for r in records if r["variant"] == name)


def keystroke_gaps(record) -> list[int]:
    """Gaps between consecutive input events in the same field (one input per keystroke)."""
    gaps = []
    events = record["events"]
    for before, after in zip(events, events[1:], strict=False):
        if before["type"] == after["type"] == "input" and before["field"] == after["field"]:
            gaps.append(after["ts"] - before["ts"])
    return gaps


def test_every_class_is_recorded_and_no_session_is_lost(recorded):
    records, summary = recorded
    assert summary.lost == []
    assert summary.page_errors == []
    assert summary.stray_sessions == 0  # the checkout's footer newsletter form is never touched
    assert sorted(r["class"] for r in records) == sorted(list(CLASSES.values()) * 2)
    for record in records:
        assert record["label"] == next(code for code, name in CLASSES.items() if name == record["class"])
        assert record["source"] == "browser" and record["batches"] >= 1 and record["events"]
        assert VARIANTS_BY_NAME[record["variant"]].label == record["class"]
        assert record["departure"] in {"back", "close", "link", "navigate", "timeout", "submit", "submit_blocked", "submit_exit"}


def test_events_pass_the_server_schema_and_normalise(recorded):
    records, _ = recorded
    for record in records:
        parsed = parse_events(record["events"], max_events=MAX_RAW_EVENTS)
        assert len(parsed) == len(record["events"])
        trace = normalise_events(record["events"])
        assert trace.tokens, record["id"]
        timestamps = [event["ts"] for event in record["events"]]
        assert timestamps == sorted(timestamps), f"{record['id']}: batches joined out of order"
    leaving = [r for r in records if r["departure"] in ("back", "close", "link", "navigate")]
    assert leaving and all(r["events"][-1]["type"] == "exit" for r in leaving)


def test_bot_keystrokes_are_milliseconds_apart_and_human_ones_are_not(recorded):
    records, _ = recorded
    bots = [gap for r in records if r["class"] == "bot" for gap in keystroke_gaps(r)]
    humans = [gap for r in records if r["class"] in ("accidental_exit", "distraction") for gap in keystroke_gaps(r)]
    assert bots and humans
    assert statistics.median(bots) <= 20
    assert statistics.median(humans) >= 60
    assert min(humans) >= 20  # even a fast typist's next key takes a few tens of ms
    # the fake clock carries human pauses: a distracted visitor's session spans minutes of the snippet's time
    distracted = [r for r in records if r["class"] == "distraction"]
    assert max(r["events"][-1]["ts"] - r["events"][0]["ts"] for r in distracted) >= 30_000


def test_autofill_fills_several_fields_without_focusing_them(recorded):
    records, _ = recorded
    record = by_variant(records, "autofill_then_type")
    current = None
    unfocused = set()  # fields that received input while focus was elsewhere
    for event in record["events"]:
        if event["type"] == "focus":
            current = event["field"]
        elif event["type"] == "blur":
            current = None
        elif event["type"] == "input" and event["field"] != current:
            unfocused.add(event["field"])
    assert len(unfocused) >= 2, record["events"]
    # then the visitor goes on typing, keystroke by keystroke
    assert any(gap > 0 for gap in keystroke_gaps(record))


def test_opaque_names_carry_no_english(recorded):
    records, _ = recorded
    record = next(r for r in records if r["naming"] == "opaque")
    english = {
        word
        for template in TEMPLATES.values()
        for concept in [item.concept for item in template.fields] + [region.concept for region in template.regions]
        for word in concept.split("_")
        if len(word) >= 3
    }
    names = {event["field"] for event in record["events"] if event.get("field")}
    assert names
    for name in names:
        assert not set(name.split("_")) & english, name
        assert not any(word in name for word in english if len(word) >= 4), name


def test_the_same_seed_records_the_same_sessions(recorded):
    records, _ = recorded
    again, summary = record_plans(plans()[:4])
    assert summary.lost == []
    assert json.dumps(again, sort_keys=True) == json.dumps(records[:4], sort_keys=True)
    assert plan_sessions(12, SEED) == plan_sessions(12, SEED)
    assert plan_sessions(12, SEED) != plan_sessions(12, SEED + 1)


def chromium_pids() -> set[int]:
    return {int(pid) for pid in subprocess.run(["pgrep", "-f", "chromium"], capture_output=True, text=True).stdout.split()}


def test_the_watchdog_kills_a_session_that_runs_past_its_deadline_and_reports_it(recorded):
    records, summary = recorded
    assert summary.stalled == []  # nothing stalled in the real run above
    before = chromium_pids()
    # No session finishes in 50 ms: each is killed, recorded once more in a fresh browser, killed again, then lost.
    again, summary = record_plans(plans()[:2], workers=1, deadline_s=0.05)
    assert again == []
    assert [lost["id"] for lost in summary.lost] == [p.id for p in plans()[:2]]
    assert all(lost["reason"].startswith("watchdog: no result 0.05 s") for lost in summary.lost)
    assert len(summary.stalled) == 4 and summary.retried == 2
    # the killed workers took their browsers with them (SIGKILLed processes take a moment to leave /proc)
    deadline = time.monotonic() + 10
    while (left := chromium_pids() - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left


def test_the_summary_prints_as_json_with_counts_per_name():
    summary = Summary()
    record = {"class": "bot", "variant": "spam_burst", "naming": "de", "form": "donation", "departure": "submit",
              "difficulty": "clear", "events": [{}, {}]}  # fmt: skip
    summary.add(record)
    summary.add({**record, "naming": "opaque"})
    data = json.loads(json.dumps(summary.as_dict(), sort_keys=True))
    assert data["classes"] == {"bot": 2}
    assert data["naming"] == {"de": 1, "opaque": 1}
    assert data["events"] == 4
