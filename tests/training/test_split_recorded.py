"""split_recorded: whole forms per split, sessions ended as the product reads them, and a training recording only on
the validation split's forms."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from training.datasets import read_jsonl


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _session(form: str, index: int, *, ended: bool = True) -> dict:
    events = [{"type": "focus", "ts": 0, "field": "email"}, {"type": "input", "ts": 90, "field": "email"}]
    if ended:
        events.append({"type": "exit", "ts": 400})
    return {"id": f"{form}-{index}", "form": form, "label": 2, "class": "distraction", "events": events}


@pytest.fixture
def recorded(tmp_path):
    forms = [f"form_{n}" for n in range(10)]
    return _write(tmp_path / "recorded.jsonl", [_session(f, i, ended=i % 2 == 0) for f in forms for i in range(4)])


def test_forms_are_split_whole_and_open_sessions_end_by_the_sweep(recorded, tmp_path):
    call_command("split_recorded", str(recorded), "--out", str(tmp_path), stdout=io.StringIO())
    parts = {name: list(read_jsonl(tmp_path / f"{name}.jsonl")) for name in ("validation", "dev", "test")}
    assert sum(len(p) for p in parts.values()) == 40
    forms = [{r["form"] for r in part} for part in parts.values()]
    assert all(forms) and not (forms[0] & forms[1] or forms[0] & forms[2] or forms[1] & forms[2])
    swept = [r for part in parts.values() for r in part if r.get("ending") == "inactivity_sweep"]
    assert len(swept) == 20
    assert all(r["events"][-1]["type"] == "exit" and r["events"][-1]["ts"] == 90 + 30 * 60 * 1000 for r in swept)


def test_a_training_recording_on_a_held_out_form_is_refused(recorded, tmp_path):
    call_command("split_recorded", str(recorded), "--out", str(tmp_path), stdout=io.StringIO())
    held_out = next(read_jsonl(tmp_path / "test.jsonl"))["form"]
    validation_form = next(read_jsonl(tmp_path / "validation.jsonl"))["form"]
    taught = _write(tmp_path / "taught.jsonl", [_session(validation_form, 9), _session(held_out, 9)])
    with pytest.raises(CommandError, match=f"sessions on {held_out}, forms of the dev or test split"):
        call_command("split_recorded", str(recorded), "--out", str(tmp_path), "--train", str(taught))
    fine = _write(tmp_path / "fine.jsonl", [_session(validation_form, 9, ended=False)])
    call_command("split_recorded", str(recorded), "--out", str(tmp_path), "--train", str(fine), stdout=io.StringIO())
    (written,) = read_jsonl(tmp_path / "train.jsonl")
    assert written["ending"] == "inactivity_sweep"
