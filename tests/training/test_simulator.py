"""The session simulator: class coverage, variety of forms and fields, valid raw events, timing, seeds, class mix."""

import statistics
from collections import Counter

import pytest

from classifier.labels import CLASSES
from formrecap.ingest.schema import parse_events
from formrecap.models import default_abandonment_timeout
from training.simulator import simulate_sessions
from training.simulator.behaviours import SWEEP_IDLE_MS
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


def _active_ms(events: list[dict]) -> int:
    """Duration without a trailing sweep idle (a script's tab left open until the inactivity timeout)."""
    for index, (before, after) in enumerate(zip(events, events[1:], strict=False)):
        if after["ts"] - before["ts"] >= 0.9 * SWEEP_IDLE_MS:  # a hidden tab may cut in first
            return _duration_ms(events[: index + 1])
    return _duration_ms(events)


def test_bots_type_fast_or_paced_to_the_millisecond_and_act_for_seconds(sessions):
    bots = [s for s in sessions if s.label == 5]
    paced = [s for s in bots if s.variant.startswith("paced")]
    assert paced and len(paced) < len(bots) / 4
    for session in bots:
        gaps = _same_field_keystroke_gaps(session.events)
        if session.variant.startswith("paced"):
            # a timer's delay, repeated: people's gaps spread far more (see the regularity feature)
            assert not gaps or statistics.pstdev(gaps) <= 2, session.id
            assert _active_ms(session.events) <= 60_000, session.id
        else:
            assert not gaps or statistics.median(gaps) <= 20, session.id
            assert _active_ms(session.events) <= 10_000, session.id


def test_the_sweep_idle_is_the_products_default_inactivity_timeout():
    assert default_abandonment_timeout() * 1000 == SWEEP_IDLE_MS


def test_a_refused_script_sometimes_leaves_its_tab_open_until_the_sweep(sessions):
    bots = [s for s in sessions if s.label == 5]
    left_open = [s for s in bots if _active_ms(s.events) != _duration_ms(s.events)]
    assert 0 < len(left_open) < len(bots) / 2
    assert all(s.events[-1]["type"] == "exit" for s in left_open)


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


# --- what the real snippet adds (training/simulator/browser_style.py) --------------------------------------------


def test_a_share_of_sessions_look_like_the_snippet_sent_them(sessions):
    styles = Counter(s.style for s in sessions)
    assert 0.5 < (styles["browser"] + styles["browser+opaque"]) / COUNT < 0.7
    browser = [s for s in sessions if s.style.startswith("browser")]
    with_kinds = [s for s in browser if any("kind" in e for e in s.events)]
    assert 0.8 < len(with_kinds) / len(browser) < 0.97  # some as an older snippet, without kinds
    assert not any("kind" in e for s in sessions if s.style.startswith("plain") for e in s.events)
    # The snippet reports a pause of 2 s or more as a scroll when the visitor acts again.
    assert sum(1 for s in browser for e in s.events if e["type"] == "scroll") > sum(
        1 for s in sessions if s.style == "plain" for e in s.events if e["type"] == "scroll"
    )
    assert any(e["type"] == "hide" for s in browser for e in s.events)


def test_opaque_sessions_name_nothing(sessions):
    opaque = [s for s in sessions if s.style.endswith("+opaque")]
    assert 0.15 < len(opaque) / COUNT < 0.25
    names = {e["field"] for s in opaque for e in s.events if "field" in e}
    assert names and all(name.split("_")[0] in {"input", "field", "element", "block", "section", "panel", "box"}
                         or name[0] in "qf" and name[1:].isdigit() for name in names)  # fmt: skip


def test_thin_sessions_carry_every_plausible_label(sessions):
    thin = [s for s in sessions if s.variant.startswith("thin_")]
    assert 0.01 < len(thin) / COUNT < 0.06
    by_shape: dict[str, set[int]] = {}
    for s in thin:
        by_shape.setdefault(s.variant, set()).add(s.label)
    assert all(len(labels) >= 2 for labels in by_shape.values()), by_shape
    assert all(len([e for e in s.events if e["type"] != "scroll"]) <= 12 for s in thin)


def test_automation_bots_set_each_value_in_one_event_and_humans_autofill(sessions):
    automation = [s for s in sessions if s.variant.startswith("automation_")]
    assert automation and all(s.label == 5 for s in automation)
    fill = [s for s in automation if all(n == 1 for n in Counter(e["field"] for e in s.events if e["type"] == "input").values())]
    assert len(fill) / len(automation) > 0.5

    # Autofill: a human session where several fields get input without being focused first.
    def unfocused_inputs(events):
        focused, count = None, 0
        for e in events:
            focused = e["field"] if e["type"] == "focus" else focused
            count += e["type"] == "input" and e["field"] != focused
        return count

    autofilled = [s for s in sessions if s.label != 5 and unfocused_inputs(s.events) >= 1]
    assert len(autofilled) / COUNT > 0.02
