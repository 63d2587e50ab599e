"""`manage.py compare_models`: backends side by side on one labelled file; the ones that cannot run are listed as
skipped with the reason; the report is stored with its charts and shown in admin (superusers only)."""

import base64
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from classifier.labels import CLASSES
from tests.factories import UserFactory
from training.comparison import ComparisonError, parse_backend_specs
from training.models import ModelComparison
from training.simulator import simulate_sessions
from training.simulator.core import BALANCED_MIX

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "labelled.jsonl"
    sessions = simulate_sessions(60, seed=41, mix=BALANCED_MIX)
    path.write_text("".join(json.dumps({"id": s.id, "label": s.label, "events": s.events}) + "\n" for s in sessions))
    return path


def compare(dataset, backends: str, *extra) -> dict:
    out = io.StringIO()
    call_command("compare_models", "--dataset", str(dataset), "--backends", backends, "--json", *extra, stdout=out)
    return json.loads(out.getvalue())


def test_backends_are_compared_and_those_that_cannot_run_are_skipped_with_the_reason(
    active_embedded_model, dataset, monkeypatch, tmp_path
):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    report = compare(dataset, "embedded,cascade:0.9,claude,peft", "--out", str(tmp_path / "out"))
    rows = {row["backend"]: row for row in report["backends"]}
    assert set(rows) == {"embedded", "cascade:0.9"}
    assert {s["backend"]: s["reason"] for s in report["skipped"]}.keys() == {"claude", "peft"}
    assert "ANTHROPIC_API_KEY" in next(s["reason"] for s in report["skipped"] if s["backend"] == "claude")

    evaluated = io.StringIO()
    call_command("evaluate", "--dataset", str(dataset), "--json", stdout=evaluated)
    alone = json.loads(evaluated.getvalue())
    embedded = rows["embedded"]
    assert embedded["macro_f1"] == pytest.approx(alone["macro_f1"])  # the same figures evaluate gives
    assert embedded["ece"] == pytest.approx(alone["ece"])
    assert (embedded["n_valid"], embedded["n_total"]) == (60, 60)
    assert set(embedded["per_class_f1"]) == set(CLASSES.values())
    assert embedded["p50_ms_per_trace"] > 0 and embedded["calibrated"] is True
    # escalations find no LoRA adapter to ask: the cascade keeps every embedded answer, and says so
    cascade = rows["cascade:0.9"]
    assert cascade["escalated_share"] > 0 and cascade["llm_answered_share"] == 0
    assert cascade["macro_f1"] == pytest.approx(alone["macro_f1"])

    folder = tmp_path / "out"
    assert json.loads((folder / "report.json").read_text())["skipped"] == report["skipped"]
    markdown = (folder / "report.md").read_text()
    assert "| embedded |" in markdown and "## Skipped" in markdown and "**claude**" in markdown
    for name in ("per_class_f1.png", "f1_vs_ece.png", "reliability_embedded.png", "reliability_cascade_0.9.png"):
        assert (folder / name).read_bytes().startswith(PNG_MAGIC), name

    stored = ModelComparison.objects.get(pk=report["comparison_id"])
    assert stored.dataset_sha256 == alone["dataset_sha256"]
    assert base64.b64decode(stored.charts["f1_vs_ece.png"]).startswith(PNG_MAGIC)


@pytest.mark.parametrize(
    ("backends", "message"),
    [
        ("nope", "'nope' is not a backend"),
        ("peft:abc", "'peft:abc' is not a backend"),
        ("peft:1.5", "a model version id is a whole number"),
        ("cascade:2", "between 0 and 1"),
        ("cascade:1.2.3", "a cascade threshold is a number between 0 and 1"),
        ("embedded,embedded", "listed twice"),
        (" , ", "no backends given"),
    ],
)
def test_a_bad_backend_list_is_refused_naming_the_entry(backends, message):
    with pytest.raises(ComparisonError, match=message):
        parse_backend_specs(backends)


def test_command_errors_name_the_problem(db, dataset, tmp_path):
    with pytest.raises(CommandError, match="--backends: 'nope' is not a backend"):
        compare(dataset, "nope")
    with pytest.raises(CommandError, match="no such file"):
        compare(tmp_path / "missing.jsonl", "embedded")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("not json\n")
    with pytest.raises(CommandError, match="no valid labelled lines"):
        compare(empty, "embedded")


def test_every_backend_skipped_still_stores_the_report_saying_why(db, dataset):
    report = compare(dataset, "embedded")
    assert report["backends"] == [] and "no active embedded model" in report["skipped"][0]["reason"]


def test_admin_shows_the_report_and_its_charts_to_superusers_only(active_embedded_model, dataset, client):
    report = compare(dataset, "embedded")
    page = reverse("admin:training_modelcomparison_change", args=[report["comparison_id"]])
    client.force_login(UserFactory(username="staff", is_staff=True))
    assert client.get(page).status_code in (302, 403)
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    response = client.get(page)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('src="data:image/png;base64,') == 3 and "| embedded |" in body
    listing = client.get(reverse("admin:training_modelcomparison_changelist")).content.decode()
    best = report["backends"][0]
    assert f"embedded {best['macro_f1']:.3f} (ECE {best['ece']:.3f})" in listing and "labelled.jsonl" in listing
