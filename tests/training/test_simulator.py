"""The session simulator: class coverage, variety of forms and fields, valid raw events, timing, seeds, class mix."""

import statistics
from collections import Counter

import pytest

from classifier.labels import CLASSES
from formrecap.ingest.schema import parse_events
from training.simulator import simulate_sessions
from training.simulator.core import DEFAULT_MIX

COUNT = 3000
MIX_TOLERANCE = 0.03  # about 4 standard errors of a class share over 3,000 draws


@pytest.fixture(scope="module")
def sessions():
    return list(simulate_sessions(COUNT, seed=1))


def _same_field_keystroke_gaps(events: list[dict]) -> list[int]:
    return [
        after["ts"] - before["ts"]
        for before, after in zip(events, events[1:], strict=False)
        if before["type"] == after["type"] == "input" and before.get("field") == after.get("field")
    ]


def _duration_ms(events: list[dict]) -> int:
    return events[-1]["ts"] - events[0]["ts"]


def test_every_class_is_produced(sessions):
    assert {s.label for s in sessions} == set(CLASSES)


def test_at_least_200_distinct_field_names(sessions):
    names = {event["field"] for s in sessions for event in s.events if event.get("field")}
    assert len(names) >= 200


def test_at_least_15_form_types(sessions):
    assert len({s.form_type for s in sessions}) >= 15


def test_raw_events_pass_the_ingest_schema(sessions):
    for session in sessions:
        assert parse_events(session.events, max_events=10_000), session.id


def test_bots_type_fast_and_finish_in_seconds(sessions):
    bots = [s for s in sessions if s.label == 5]
    assert bots
    for session in bots:
        gaps = _same_field_keystroke_gaps(session.events)
        assert not gaps or statistics.median(gaps) <= 20, session.id
        assert _duration_ms(session.events) <= 10_000, session.id


def test_humans_type_at_human_speed_and_take_longer(sessions):
    humans = [s for s in sessions if s.label != 5]
    for session in humans:
        gaps = _same_field_keystroke_gaps(session.events)
        assert not gaps or statistics.median(gaps) >= 45, session.id
    bot_durations = [_duration_ms(s.events) for s in sessions if s.label == 5]
    human_durations = [_duration_ms(s.events) for s in humans]
    assert statistics.median(human_durations) >= 5 * statistics.median(bot_durations)


def test_same_seed_gives_the_same_sessions_and_another_seed_others():
    first = list(simulate_sessions(200, seed=5))
    assert first == list(simulate_sessions(200, seed=5))
    assert [s.events for s in first] != [s.events for s in simulate_sessions(200, seed=6)]


def test_default_mix_is_respected(sessions):
    counts = Counter(s.label for s in sessions)
    for code, share in DEFAULT_MIX.items():
        assert counts[code] / COUNT == pytest.approx(share, abs=MIX_TOLERANCE), CLASSES[code]


def test_custom_mix_is_respected():
    mix = {1: 0.5, 2: 0.3, 6: 0.2}
    counts = Counter(s.label for s in simulate_sessions(COUNT, seed=2, mix=mix))
    assert set(counts) == set(mix)
    for code, share in mix.items():
        assert counts[code] / COUNT == pytest.approx(share, abs=MIX_TOLERANCE), CLASSES[code]
