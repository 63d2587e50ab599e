"""`manage.py generate_synthetic`: files, manifest, determinism, deduplication, stratification, bad arguments."""

import hashlib
import io
import json
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from classifier.labels import CLASSES
from training.simulator import GENERATOR_VERSION

SPLITS = ("train", "validation", "test")
RECORD_KEYS = {"id", "label", "class", "form_type", "variant", "style", "events", "trace"}
COUNT, SEED = 600, 11


def generate(out, **options) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("generate_synthetic", out=str(out), stdout=stdout, stderr=stderr, **{"count": COUNT, "seed": SEED, **options})
    return stdout.getvalue(), stderr.getvalue()


def read_split(folder, name) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{name}.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    stdout, stderr = generate(out)
    manifest = json.loads((out / "manifest.json").read_text())
    return out, manifest, {name: read_split(out, name) for name in SPLITS}, stdout, stderr


def test_writes_three_jsonl_splits_of_complete_records(generated):
    _, _, splits, _, _ = generated
    for name in SPLITS:
        assert splits[name], name
        for record in splits[name]:
            assert set(record) == RECORD_KEYS
            assert CLASSES[record["label"]] == record["class"]


def test_manifest_names_generator_seed_and_counts(generated):
    _, manifest, splits, _, _ = generated
    assert manifest["generator_version"] == GENERATOR_VERSION
    assert manifest["seed"] == SEED
    assert manifest["count_requested"] == COUNT
    assert manifest["kept"] == sum(len(part) for part in splits.values())
    for name in SPLITS:
        assert manifest["splits"][name] == dict(Counter(r["class"] for r in splits[name]))
        assert manifest["files"][f"{name}.jsonl"]["records"] == len(splits[name])


def test_manifest_duplicate_counts_add_up(generated):
    _, manifest, _, _, _ = generated
    dedup = manifest["dedup"]
    assert dedup["total"] == COUNT
    assert dedup["kept"] == manifest["kept"] == COUNT - dedup["exact_duplicates"] - dedup["near_duplicates"]
    assert dedup["duplicate_rate"] == round((COUNT - manifest["kept"]) / COUNT, 4)


def test_manifest_variety_figures_are_computed_from_the_files(generated):
    _, manifest, splits, _, _ = generated
    records = [r for part in splits.values() for r in part]
    assert manifest["distinct_field_names"] == len({e["field"] for r in records for e in r["events"] if e.get("field")})
    assert manifest["distinct_form_types"] == len({r["form_type"] for r in records}) == len(manifest["form_types"])
    variants = {cls: dict(counts) for cls, counts in manifest["variants"].items()}
    for cls, counts in variants.items():
        assert counts == dict(Counter(r["variant"] for r in records if r["class"] == cls))


def test_content_hash_is_the_hash_of_the_split_files(generated):
    out, manifest, _, _, _ = generated
    digest = hashlib.sha256(b"".join((out / f"{name}.jsonl").read_bytes() for name in SPLITS)).hexdigest()
    assert manifest["content_hash"] == digest


def test_same_seed_gives_byte_identical_files(generated, tmp_path):
    out, _, _, _, _ = generated
    generate(tmp_path)
    for name in [*(f"{s}.jsonl" for s in SPLITS), "manifest.json"]:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_another_seed_gives_other_sessions(generated, tmp_path):
    _, manifest, _, _, _ = generated
    generate(tmp_path, seed=SEED + 1)
    assert json.loads((tmp_path / "manifest.json").read_text())["content_hash"] != manifest["content_hash"]


def test_duplicates_are_removed_and_the_rate_reported(tmp_path):
    # Committed leavers who only glance produce the same few shapes again and again.
    stdout, _ = generate(tmp_path, count=300, seed=2, mix="committed_leave=1")
    dedup = json.loads((tmp_path / "manifest.json").read_text())["dedup"]
    assert dedup["exact_duplicates"] > 0 and dedup["near_duplicates"] > 0
    traces = [r["trace"] for name in SPLITS for r in read_split(tmp_path, name)]
    assert len(traces) == len(set(traces)) == dedup["kept"]
    assert f"duplicate rate {dedup['duplicate_rate']:.1%}" in stdout


def test_splits_are_stratified_80_10_10_per_class(generated):
    _, manifest, _, _, _ = generated
    for cls, total in manifest["classes"].items():
        assert manifest["splits"]["train"][cls] == pytest.approx(0.8 * total, abs=1), cls
        assert manifest["splits"]["validation"].get(cls, 0) == pytest.approx(0.1 * total, abs=1), cls
        assert manifest["splits"]["test"].get(cls, 0) == pytest.approx(0.1 * total, abs=1), cls


def test_mix_limits_the_classes_and_is_recorded(tmp_path):
    generate(tmp_path, count=200, mix="1=3,bot=1")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["classes"]) == {"validation_error", "bot"}
    assert manifest["mix"] == {"validation_error": 0.75, "bot": 0.25}


def test_progress_bar_goes_to_stderr(generated):
    _, _, _, stdout, stderr = generated
    assert f"{COUNT}/{COUNT}" in stderr
    assert f"{COUNT}/{COUNT}" not in stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"count": 0}, "--count must be at least 1"),
        ({"mix": "7=1"}, "unknown class '7'"),
        ({"mix": "shopping=1"}, "unknown class 'shopping'"),
        ({"mix": "1=0,2=1"}, "must be a positive number"),
        ({"mix": "1=-0.5"}, "must be a positive number"),
        ({"mix": "1=nan"}, "must be a positive number"),
        ({"mix": "1=abc"}, "is not a number"),
        ({"mix": "1=0.5,1=0.5"}, "given twice"),
        ({"mix": "mostly bots"}, "is not CLASS=WEIGHT"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(tmp_path, options, message):
    with pytest.raises(CommandError, match=message):
        generate(tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_weights_adding_up_to_infinity_are_refused(tmp_path):
    with pytest.raises(CommandError, match="add up to infinity"):
        generate(tmp_path / "out", mix="1=1e308,2=1e308,3=1,4=1,5=1,6=1")


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CommandError, match="--out"):
        generate(blocker / "sub")
