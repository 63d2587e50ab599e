"""Admin for datasets, training runs and model versions: superusers only; start, poll, activate, gate, roll back."""

import pytest
from django.urls import reverse

from formrecap.models import Membership
from tests.factories import MembershipFactory, UserFactory
from tests.training.helpers import held_out_metrics, tiny_config
from tests.training.modal_double import script_run
from training.models import ModelVersion, TrainingRun
from training.runs import training_run_create
from training.services import model_version_activate, model_version_register

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def tenant_owner(tenant):
    owner = UserFactory(username="acme-owner")
    MembershipFactory(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    return owner


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:training_{model}_{view}", args=args)


def html(response) -> str:
    return response.content.decode()


def act(client, model: str, action: str, objects) -> str:
    data = {"action": action, "_selected_action": [str(obj.pk) for obj in objects]}
    return html(client.post(url(model, "changelist"), data, follow=True))


def version(name: str, *, macro_f1: float, ece: float, kind: str = "lora", active: bool = False) -> ModelVersion:
    registered = model_version_register(
        kind=kind,
        name=name,
        artifact_uri=f"/artifacts/adapters/{name}",
        training_config={},
        data_manifest={},
        metrics={"temperature": 0.7, **held_out_metrics(macro_f1, ece), "test": {"macro_f1": 0.5, "ece": 0.2}},
        temperature=0.7,
    )
    return model_version_activate(model_version=registered) if active else registered


def reloaded(obj):
    obj.refresh_from_db()
    return obj


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["dataset", "trainingrun", "modelversion"])
def test_tenant_staff_get_no_access(client, tenant_owner, tiny_dataset, tiny_base, model):
    run = training_run_create(dataset=tiny_dataset, runner="local", config=tiny_config(tiny_base))
    obj = {"dataset": tiny_dataset, "trainingrun": run, "modelversion": version("v", macro_f1=0.9, ece=0.03)}[model]
    client.force_login(tenant_owner)
    for view, args in (("changelist", []), ("change", [obj.pk]), ("add", [])):
        assert client.get(url(model, view, *args)).status_code == 403
    index = html(client.get(reverse("admin:index")))
    assert "Training runs" not in index and "Datasets" not in index and "Model versions" not in index
    response = client.post(url("trainingrun", "changelist"), {"action": "start_queued", "_selected_action": [str(run.pk)]})
    assert response.status_code == 403


# --- datasets -----------------------------------------------------------------------------------


def test_datasets_are_listed_with_sources_and_shown_read_only(admin_client, tiny_dataset):
    page = html(admin_client.get(url("dataset", "changelist")))
    assert "tiny:v1" in page and f"simulator {tiny_dataset.sources['simulator']}" in page

    page = html(admin_client.get(url("dataset", "change", tiny_dataset.pk)))
    assert "&quot;content_hash&quot;: &quot;" + tiny_dataset.content_hash in page  # the manifest, pretty-printed
    assert "<pre" in page and 'name="name"' not in page  # nothing to edit
    assert admin_client.get(url("dataset", "add")).status_code == 403
    assert admin_client.get(url("dataset", "delete", tiny_dataset.pk)).status_code == 403
    admin_client.post(url("dataset", "change", tiny_dataset.pk), {"name": "renamed"})
    assert reloaded(tiny_dataset).name == "tiny"


# --- training runs ------------------------------------------------------------------------------


def test_a_run_added_in_admin_is_created_and_started_after_commit(
    admin_client, modal_double, tiny_dataset, tiny_base, django_capture_on_commit_callbacks
):
    form = {
        "dataset": tiny_dataset.pk,
        "runner": "modal",
        "profile": "cloudflare",
        "base_model": str(tiny_base),
        "epochs": "2",
        "max_steps": "-1",
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(url("trainingrun", "add"), form, follow=True)

    [run] = TrainingRun.objects.all()
    assert response.status_code == 200 and "was added successfully" in html(response)
    assert len(callbacks) == 1  # the start task, sent once the admin's transaction committed
    assert (run.runner, run.profile, run.base_model, run.dataset, run.triggered_by) == (
        "modal",
        "cloudflare",
        str(tiny_base),
        tiny_dataset,
        "admin user root",
    )
    assert run.config["epochs"] == 2 and run.config["profile"] == "cloudflare"
    # Started through the Modal runner: submitted, and now followed by polls.
    assert run.status == "running" and run.external_id in modal_double.spawned


def test_the_add_form_refuses_a_config_that_cannot_train(admin_client, tiny_dataset):
    base = "meta-llama/Llama-3.2-3B-Instruct"
    form = {"dataset": tiny_dataset.pk, "runner": "modal", "profile": "cloudflare", "base_model": base, "epochs": 3}
    page = html(admin_client.post(url("trainingrun", "add"), {**form, "max_steps": -1}))
    assert "Cloudflare Workers AI does not serve LoRA adapters for" in page
    assert not TrainingRun.objects.exists()


def test_run_pages_show_status_losses_and_logs_read_only(admin_client, tiny_dataset, tiny_base):
    run = training_run_create(dataset=tiny_dataset, runner="local", config=tiny_config(tiny_base))
    TrainingRun.objects.filter(pk=run.pk).update(
        status="failed",
        logs="2026-01-01 00:00:00 starting\n",
        error="Traceback ...\nRuntimeError: <boom>",
        losses={"best_eval": 1.23456},
    )
    page = html(admin_client.get(url("trainingrun", "changelist")))
    assert "1.2346" in page and "Failed" in page

    page = html(admin_client.get(url("trainingrun", "change", run.pk)))
    assert "RuntimeError: &lt;boom&gt;" in page and "starting" in page  # escaped, shown, not editable
    assert 'name="base_model"' not in page
    admin_client.post(url("trainingrun", "change", run.pk), {"base_model": "other", "status": "queued"})
    assert (reloaded(run).base_model, reloaded(run).status) == (str(tiny_base), "failed")
    assert admin_client.get(url("trainingrun", "delete", run.pk)).status_code == 403


def test_start_action_enqueues_only_queued_runs(admin_client, tiny_dataset, tiny_base, django_capture_on_commit_callbacks):
    queued = [training_run_create(dataset=tiny_dataset, runner="local", config=tiny_config(tiny_base)) for _ in range(2)]
    failed = training_run_create(dataset=tiny_dataset, runner="local", config=tiny_config(tiny_base))
    TrainingRun.objects.filter(pk=failed.pk).update(status="failed")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        page = act(admin_client, "trainingrun", "start_queued", [*queued, failed])

    assert f"Sent 2 queued run(s) to a worker: {queued[0].pk}, {queued[1].pk}." in page
    assert "Skipped 1 run(s) that are not queued." in page
    assert len(callbacks) == 2


def test_start_and_poll_actions_follow_a_remote_run(
    admin_client, modal_double, modal_scripts, tiny_dataset, tiny_base, django_capture_on_commit_callbacks
):
    run = training_run_create(dataset=tiny_dataset, runner="modal", config=tiny_config(tiny_base))
    script_run(modal_scripts, run.pk, running_polls=3)

    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, "trainingrun", "start_queued", [run])
    assert reloaded(run).status == "running"

    with django_capture_on_commit_callbacks(execute=True):
        page = act(admin_client, "trainingrun", "poll_running", [run])
    assert f"Polling 1 running remote run(s): {run.pk}." in page
    assert modal_double.calls["result"] == [(run.external_id,)]


# --- model versions ------------------------------------------------------------------------------


def test_model_versions_list_held_out_metrics_temperature_and_reason(admin_client):
    kept = version("lora-a", macro_f1=0.912, ece=0.134)
    ModelVersion.objects.filter(pk=kept.pk).update(status_reason="kept as candidate: ECE 0.134 is above the bound")
    page = html(admin_client.get(url("modelversion", "changelist")))
    assert "Macro-F1 (held-out)" in page and "ECE (held-out)" in page and "Temperature" in page and "Status reason" in page
    assert "hand_labelled 0.912" in page and "hand_labelled 0.134" in page and "0.700" in page
    assert "kept as candidate: ECE 0.134" in page


def test_model_versions_from_before_fingerprints_show_their_one_set_so(admin_client):
    legacy = version("lora-old", macro_f1=0.5, ece=0.5)
    ModelVersion.objects.filter(pk=legacy.pk).update(metrics={"hand_labelled": {"macro_f1": 0.877, "ece": 0.041}})
    page = html(admin_client.get(url("modelversion", "changelist")))
    assert "hand_labelled 0.877 (file not fingerprinted)" in page and "hand_labelled 0.041 (file not fingerprinted)" in page


def test_gate_action_promotes_a_good_candidate_and_keeps_a_bad_one(admin_client):
    live = version("lora-live", macro_f1=0.90, ece=0.04, active=True)
    uncalibrated = version("lora-hot", macro_f1=0.95, ece=0.20)
    better = version("lora-better", macro_f1=0.93, ece=0.03)

    page = act(admin_client, "modelversion", "apply_gate", [uncalibrated, better, live])

    assert "Gate on lora-hot:v1: kept as candidate: hand_labelled: ECE 0.200 is above the bound 0.060" in page
    assert "Gate on lora-better:v1: promoted by the gate (live: lora-live:v1): hand_labelled (sha256 " in page
    assert "n=96: macro-F1 0.930 (live 0.900), ECE 0.030" in page
    assert "Not gated: lora-live:v1 is active." in page
    assert (reloaded(better).status, reloaded(live).status, reloaded(uncalibrated).status) == ("active", "retired", "candidate")
    assert reloaded(uncalibrated).status_reason.startswith("kept as candidate")


def test_rollback_action_reactivates_the_previous_version_per_kind(admin_client):
    first = version("lora-a", macro_f1=0.90, ece=0.04, active=True)
    second = version("lora-b", macro_f1=0.91, ece=0.04, active=True)

    page = act(admin_client, "modelversion", "roll_back", [second])

    assert "Rolled back the lora model to lora-a:v1 (rolled back from lora-b:v1)." in page
    assert (reloaded(first).status, reloaded(second).status) == ("active", "retired")

    embedded = version("embedded-x", macro_f1=0.8, ece=0.05, kind="embedded", active=True)
    page = act(admin_client, "modelversion", "roll_back", [embedded])
    assert "Nothing rolled back: no previously active embedded model to roll back to." in page
    assert reloaded(embedded).status == "active"


def test_activate_action_is_kept(admin_client):
    first = version("lora-a", macro_f1=0.90, ece=0.04, active=True)
    candidate = version("lora-b", macro_f1=0.5, ece=0.3)
    page = act(admin_client, "modelversion", "activate", [candidate])
    assert "Activated lora-b:v1" in page
    assert (reloaded(candidate).status, reloaded(first).status) == ("active", "retired")


def test_tenant_staff_cannot_run_the_model_version_actions(client, tenant_owner):
    live = version("lora-live", macro_f1=0.90, ece=0.04, active=True)
    candidate = version("lora-better", macro_f1=0.93, ece=0.03)
    client.force_login(tenant_owner)
    for action in ("apply_gate", "roll_back", "activate"):
        data = {"action": action, "_selected_action": [str(candidate.pk)]}
        assert client.post(url("modelversion", "changelist"), data).status_code == 403
    assert reloaded(live).status == "active" and reloaded(candidate).status == "candidate"
