"""Dataset plumbing: exact and near-duplicate removal, stratified splits, JSONL files."""

from collections import Counter

import pytest

from classifier.trace import normalise_events, serialise_trace
from training.datasets import deduplicate, read_jsonl, split_by_group, stratified_split, write_jsonl
from training.simulator import simulate_sessions


def _record(events, label=1, id_="r"):
    return {"id": id_, "label": label, "events": events}


def test_exact_duplicate_is_removed_and_counted():
    trace = "focus:email, input:email(x8), blur:email(invalid_format), exit"
    kept, stats = deduplicate([_record(trace, id_="a"), _record(trace, id_="b")])
    assert [r["id"] for r in kept] == ["a"]
    assert (stats.total, stats.exact_duplicates, stats.near_duplicates, stats.kept) == (2, 1, 0, 1)


def test_raw_session_and_its_terse_trace_are_exact_duplicates():
    events = next(iter(simulate_sessions(1, seed=4))).events
    terse = serialise_trace(normalise_events(events))
    kept, stats = deduplicate([_record(events, id_="raw"), _record(terse, id_="terse")])
    assert [r["id"] for r in kept] == ["raw"]
    assert stats.exact_duplicates == 1


def test_near_duplicate_differing_only_in_counts_and_durations_is_removed():
    first = "focus:email, input:email(x8), blur:email, scroll:page(2100ms), exit"
    second = "focus:email, input:email(x9), blur:email, scroll:page(2500ms), exit"
    kept, stats = deduplicate([_record(first, id_="a"), _record(second, id_="b")])
    assert [r["id"] for r in kept] == ["a"]
    assert (stats.exact_duplicates, stats.near_duplicates) == (0, 1)


@pytest.mark.parametrize(
    "other",
    [
        "focus:email, input:email(x30), blur:email, exit",  # a different order of magnitude of typing
        "focus:phone, input:phone(x8), blur:phone, exit",  # another field
        "focus:email, input:email(x8), blur:email(required), exit",  # a validation failure
        "focus:email, input:email(x8), blur:email, submit",  # another ending
    ],
)
def test_structurally_different_sessions_are_both_kept(other):
    kept, stats = deduplicate([_record("focus:email, input:email(x8), blur:email, exit"), _record(other)])
    assert len(kept) == 2
    assert stats.duplicate_rate == 0


def test_kept_records_carry_their_terse_trace_and_the_rate_is_reported():
    records = [_record("focus:a, exit", id_="1"), _record("focus:a, exit", id_="2"), _record("focus:b, exit", id_="3")]
    kept, stats = deduplicate(records)
    assert [r["trace"] for r in kept] == ["focus:a, exit", "focus:b, exit"]
    assert stats.as_dict() == {"total": 3, "exact_duplicates": 1, "near_duplicates": 0, "kept": 2, "duplicate_rate": 0.3333}


def _labelled(counts: dict[int, int]) -> list[dict]:
    return [{"id": f"{label}-{i}", "label": label} for label, n in counts.items() for i in range(n)]


def test_split_keeps_each_class_in_the_requested_proportions():
    counts = {1: 500, 2: 210, 5: 43}
    splits = stratified_split(_labelled(counts), seed=1)
    for label, n in counts.items():
        per_split = {name: sum(r["label"] == label for r in part) for name, part in splits.items()}
        assert per_split["train"] == pytest.approx(0.8 * n, abs=1)
        assert per_split["validation"] == pytest.approx(0.1 * n, abs=1)
        assert per_split["test"] == pytest.approx(0.1 * n, abs=1)


def test_split_places_every_record_exactly_once():
    records = _labelled({1: 97, 3: 31, 6: 12})
    splits = stratified_split(records, seed=2)
    ids = Counter(r["id"] for part in splits.values() for r in part)
    assert set(ids) == {r["id"] for r in records}
    assert set(ids.values()) == {1}


def test_split_is_deterministic_per_seed():
    records = _labelled({1: 50, 2: 50})
    assert stratified_split(records, seed=3) == stratified_split(_labelled({1: 50, 2: 50}), seed=3)
    assert stratified_split(records, seed=3) != stratified_split(_labelled({1: 50, 2: 50}), seed=4)


def test_jsonl_round_trip(tmp_path):
    records = [{"id": "a", "events": [{"type": "exit", "ts": 1}]}, {"id": "b", "events": "exit"}]
    assert write_jsonl(tmp_path / "x.jsonl", records) == 2
    assert list(read_jsonl(tmp_path / "x.jsonl")) == records


def test_split_by_group_keeps_each_form_in_one_split_and_fills_every_split():
    records = [{"id": i, "form": f"form_{i % 10}", "label": 1 + i % 6} for i in range(300)]
    splits = split_by_group(records, key="form", seed=3)
    assert sorted(r["id"] for part in splits.values() for r in part) == list(range(300))
    forms = {name: {r["form"] for r in part} for name, part in splits.items()}
    assert all(forms.values()) and not (forms["validation"] & forms["dev"] or forms["dev"] & forms["test"])
    assert not forms["validation"] & forms["test"]
    assert 90 <= len(splits["validation"]) <= 150 and len(splits["test"]) >= 60
    assert splits == split_by_group(records, key="form", seed=3)


def test_thin_sessions_of_one_shape_keep_their_labels():
    def thin(ms: int, label: int) -> dict:
        return {"variant": "thin_scroll_exit", "label": label, "events": f"scroll:page({ms}ms), exit"}

    kept, _ = deduplicate([thin(3000, 6), thin(3100, 6), thin(3200, 3), thin(3200, 2)])
    assert [r["label"] for r in kept] == [6, 6, 3]  # near-duplicates stay, the exact repeat goes
