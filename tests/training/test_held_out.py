"""Held-out sets: configured by name, available when the file exists, fingerprinted by content."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings

from training.held_out import file_sha256, held_out_entry, held_out_matching, held_out_sets_available, held_out_sets_missing


@pytest.fixture
def sets(settings, tmp_path) -> dict[str, Path]:
    files = {"hand_labelled": tmp_path / "a.jsonl", "browser_test": tmp_path / "browser" / "test.jsonl"}
    files["hand_labelled"].write_text('{"id": "a", "label": 1, "events": "focus:email, exit"}\n')
    settings.FORMRECAP_HELD_OUT_SETS = files
    return files


def test_the_default_sets_live_in_training_where_the_image_has_them():
    configured = django_settings.FORMRECAP_HELD_OUT_SETS
    assert list(configured) == ["hand_labelled", "hand_written_test", "browser_test"]
    for name in ("hand_labelled", "hand_written_test"):
        assert configured[name].is_file() and configured[name].parent.parts[-2:] == ("training", "data")
    assert configured["browser_test"].parts[-4:] == ("training", "data", "browser", "test.jsonl")
    dockerignore = (Path(django_settings.BASE_DIR) / ".dockerignore").read_text().split()
    assert not any(line.startswith("training") for line in dockerignore)


def test_only_sets_whose_file_exists_are_available(sets):
    [available] = held_out_sets_available()
    assert (available.name, available.path, available.sha256) == (
        "hand_labelled",
        sets["hand_labelled"],
        file_sha256(sets["hand_labelled"]),
    )
    assert held_out_sets_missing() == f"browser_test ({sets['browser_test']})"


def test_the_fingerprint_changes_when_the_file_changes_and_only_then(sets):
    path = sets["hand_labelled"]
    before = file_sha256(path)
    assert file_sha256(path) == before and len(before) == 64
    path.write_text(path.read_text().replace('"label": 1', '"label": 2'))  # same size, one byte differs
    after = file_sha256(path)
    assert after != before
    assert held_out_sets_available()[0].sha256 == after


def test_entries_match_only_the_same_file(sets):
    [current] = held_out_sets_available()
    entry = held_out_entry({"n": 1, "macro_f1": 0.5, "ece": 0.1, "reliability": [], "per_class_f1": {}}, current)
    assert entry == {"n": 1, "macro_f1": 0.5, "ece": 0.1, "set": "hand_labelled", "sha256": current.sha256}
    metrics = {"held_out": {"hand_labelled": entry}}
    assert held_out_matching(metrics, [current]) == {"hand_labelled": entry}

    sets["hand_labelled"].write_text(sets["hand_labelled"].read_text() + "\n")
    assert held_out_matching(metrics, held_out_sets_available()) == {}
    assert held_out_matching({"hand_labelled": {"macro_f1": 0.9}}, [current]) == {}  # the unfingerprinted layout
