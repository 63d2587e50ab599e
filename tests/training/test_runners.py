"""Training runners: the Modal runner at its boundary (what it sends, how it reports failure, never a
hang) and the local runner on the tiny model."""

import json
import threading
import time
from pathlib import Path

import modal.exception
import pytest

from training.lora import runners
from training.lora.config import AdapterTrainingConfig
from training.lora.prompt import chat_record
from training.lora.runners import (
    CREDENTIALS_MISSING,
    LocalRunner,
    ModalRunner,
    PollResult,
    RunnerError,
    RunnerUnavailable,
    StartResult,
    build_run_payload,
    get_runner,
)
from training.lora.tiny import build_tiny_model

TRACES = [
    "focus:email, input:email(x8), blur:email(invalid_format), focus:email, input:email(x9), blur:email(invalid_format), exit",
    "focus:name, input:name(x5), blur:name, scroll:page(60000ms), exit",
    "focus:pricing_table, blur:pricing_table, scroll:page(1500ms), focus:plan_tier, blur:plan_tier, exit",
    "focus:name, input:name(x6), blur:name, focus:email, input:email(x3), exit",
    "input:name(x5), input:email(x12), input:message(x300), submit",
    "scroll:page(800ms), focus:upload_cv, blur:upload_cv, exit",
]
BOUNDARY = ("_modal_upload", "_modal_spawn", "_modal_result", "_modal_download")
FINISHED = {"run_id": "7", "adapter_path": "adapters/7", "adapter_dir": "/artifacts/adapters/7", "manifest": {"steps": 2}}


def fake_download(volume_dir: str, dest: str) -> list[str]:
    (Path(dest) / "adapter_config.json").write_text("{}")
    return [str(Path(dest) / "adapter_config.json")]


def write_dataset(folder: Path, n_train: int = 12, n_validation: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    # As training/lora/dataset.py writes them: the chat record plus bookkeeping columns the runners drop.
    records = [
        {
            **chat_record(trace, index % 6 + 1, "seen in the trace", 0.9),
            "label": index % 6 + 1,
            "trace": trace,
            "source": "claude",
        }
        for index, trace in enumerate(TRACES * 4)
    ]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:n_train]))
    (folder / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[-n_validation:]))
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[-n_validation:]))
    return folder


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for name in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.fixture
def fake_credentials(no_credentials, monkeypatch):
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-test")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-test")


@pytest.fixture
def modal_calls(monkeypatch):
    """Replaces the four functions that talk to Modal; records what each was given."""
    calls: dict[str, list] = {name: [] for name in BOUNDARY}
    behaviour = {
        "_modal_upload": lambda uploads: None,
        "_modal_spawn": lambda payload: "fc-01TEST",
        "_modal_result": lambda call_id: dict(FINISHED),
        "_modal_download": fake_download,
    }

    def recorder(name):
        def call(*args):
            calls[name].append(args)
            return behaviour[name](*args)

        return call

    for name in BOUNDARY:
        monkeypatch.setattr(runners, name, recorder(name))
    calls["behaviour"] = behaviour
    return calls


@pytest.fixture
def hang():
    """A boundary call that blocks until the test ends."""
    release = threading.Event()
    yield lambda *args: release.wait(30)
    release.set()


@pytest.fixture
def payload(tmp_path):
    config = AdapterTrainingConfig(base_model="google/gemma-2b-it", profile="cloudflare", epochs=3)
    return build_run_payload(run_id=7, config=config, dataset_path=write_dataset(tmp_path / "ds"), output_dir=tmp_path / "run-7")


# --- without credentials: at once, before any network call ------------------------------------


def test_modal_runner_without_credentials_fails_at_once(no_credentials, modal_calls, payload):
    runner = ModalRunner()
    for call in (
        lambda: runner.start(payload),
        lambda: runner.poll("fc-01TEST"),
        lambda: runner.fetch_adapter({"adapter_path": "adapters/7"}, "x"),
    ):
        started = time.monotonic()
        with pytest.raises(RunnerUnavailable) as caught:
            call()
        assert time.monotonic() - started < 2
        assert str(caught.value) == CREDENTIALS_MISSING
    assert all(not modal_calls[name] for name in BOUNDARY)


def test_credentials_are_read_from_the_environment_and_modal_toml(no_credentials, monkeypatch, tmp_path):
    assert not runners.modal_credentials_configured()
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-x")
    assert not runners.modal_credentials_configured()  # an id alone is not a token
    monkeypatch.delenv("MODAL_TOKEN_ID")

    config = tmp_path / "absent.toml"
    config.write_text('[work]\ntoken_id = "ak-1"\ntoken_secret = "as-1"\nactive = true\n\n[other]\ntoken_id = "ak-2"\n')
    assert runners.modal_credentials_configured()
    monkeypatch.setenv("MODAL_PROFILE", "other")  # incomplete profile
    assert not runners.modal_credentials_configured()
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-env")  # the environment completes it, as in the Modal client
    assert runners.modal_credentials_configured()

    config.write_text('[default]\ntoken_id = "ak-1"\ntoken_secret = "as-1"\n')
    monkeypatch.delenv("MODAL_PROFILE")
    monkeypatch.delenv("MODAL_TOKEN_SECRET")
    assert runners.modal_credentials_configured()

    config.write_text("[default\ntoken_id = ")
    with pytest.raises(RunnerUnavailable, match="not valid TOML"):
        runners.modal_credentials_configured()


# --- what is sent -------------------------------------------------------------------------------


def test_start_uploads_the_dataset_and_spawns_train_with_the_payload(fake_credentials, modal_calls, payload, tmp_path):
    started = ModalRunner().start(payload)

    assert started == StartResult(external_id="fc-01TEST", done=False)
    [(uploads,)] = modal_calls["_modal_upload"]
    [(sent,)] = modal_calls["_modal_spawn"]
    folder = sent["dataset_path"]
    assert folder.startswith("datasets/") and len(folder) == len("datasets/") + 16
    assert sent == {
        "run_id": "7",
        "dataset_path": folder,
        "config": AdapterTrainingConfig(base_model="google/gemma-2b-it", profile="cloudflare", epochs=3).as_dict(),
        "output_dir": "adapters/7",
        "local_output_dir": str(tmp_path / "run-7"),
    }
    assert json.loads(json.dumps(sent)) == sent
    assert uploads == {
        f"/{folder}/train.jsonl": str(tmp_path / "ds" / "train.jsonl"),
        f"/{folder}/validation.jsonl": str(tmp_path / "ds" / "validation.jsonl"),
        f"/{folder}/test.jsonl": str(tmp_path / "ds" / "test.jsonl"),
    }

    # Same files, same folder (a redelivered start re-uploads in place); other content, another folder.
    ModalRunner().start(payload)
    assert modal_calls["_modal_spawn"][1][0]["dataset_path"] == folder
    with (tmp_path / "ds" / "train.jsonl").open("a") as handle:
        handle.write(json.dumps(chat_record(TRACES[0], 1, "again", 0.8)) + "\n")
    ModalRunner().start(payload)
    assert modal_calls["_modal_spawn"][2][0]["dataset_path"] != folder


def test_a_local_base_model_folder_travels_with_the_run(fake_credentials, modal_calls, payload, tmp_path):
    base = tmp_path / "tiny-base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    (base / "model.safetensors").write_bytes(b"\0" * 64)
    payload["config"]["base_model"] = str(base)

    ModalRunner().start(payload)

    [(uploads,)] = modal_calls["_modal_upload"]
    [(sent,)] = modal_calls["_modal_spawn"]
    assert sent["config"]["base_model"].startswith("/artifacts/bases/")
    folder = sent["config"]["base_model"].removeprefix("/artifacts")
    assert uploads[f"{folder}/config.json"] == str(base / "config.json")
    assert uploads[f"{folder}/model.safetensors"] == str(base / "model.safetensors")
    assert payload["config"]["base_model"] == str(base)  # the caller's payload is left alone


def test_datasets_already_on_the_volume_are_not_uploaded(fake_credentials, modal_calls, monkeypatch):
    monkeypatch.setenv("FORMRECAP_MODAL_DATASET_ON_VOLUME", "1")
    config = AdapterTrainingConfig(base_model="google/gemma-2b-it")
    payload = build_run_payload(run_id="r8", config=config, dataset_path="/artifacts/datasets/claude-v3", output_dir="unused")

    ModalRunner().start(payload)

    assert modal_calls["_modal_upload"] == []
    [(sent,)] = modal_calls["_modal_spawn"]
    assert sent["dataset_path"] == "datasets/claude-v3"

    payload = build_run_payload(run_id="r9", config=config, dataset_path="/srv/data/claude-v3", output_dir="unused")
    with pytest.raises(RunnerError, match="not on the Modal volume"):
        ModalRunner().start(payload)


def test_a_missing_dataset_file_is_named_and_nothing_is_spawned(fake_credentials, modal_calls, payload, tmp_path):
    (tmp_path / "ds" / "validation.jsonl").unlink()
    with pytest.raises(RunnerError, match="validation.jsonl"):
        ModalRunner().start(payload)
    assert modal_calls["_modal_upload"] == [] and modal_calls["_modal_spawn"] == []


def test_run_ids_must_be_safe_folder_names(payload):
    config = AdapterTrainingConfig(base_model="google/gemma-2b-it")
    for bad in ("../x", "", "a/b", ".."):
        with pytest.raises(RunnerError, match="run id"):
            build_run_payload(run_id=bad, config=config, dataset_path="d", output_dir="o")


# --- how failures are reported ------------------------------------------------------------------


def test_start_reports_why_modal_refused(fake_credentials, modal_calls, payload):
    behaviour = modal_calls["behaviour"]

    def raising(exc):
        def call(*args):
            raise exc

        return call

    behaviour["_modal_spawn"] = raising(modal.exception.AuthError("Token ID is malformed"))
    with pytest.raises(RunnerUnavailable, match="rejected the credentials.*Token ID is malformed"):
        ModalRunner().start(payload)
    behaviour["_modal_spawn"] = raising(modal.exception.NotFoundError("App 'formrecap-training' not found"))
    with pytest.raises(RunnerUnavailable, match="modal deploy -m training.modal_app"):
        ModalRunner().start(payload)
    behaviour["_modal_upload"] = raising(modal.exception.ConnectionError("connection reset"))
    with pytest.raises(RunnerUnavailable, match="could not be reached while uploading"):
        ModalRunner().start(payload)
    behaviour["_modal_upload"] = raising(PermissionError("volume is read-only"))
    with pytest.raises(RunnerError, match="could not start the run: PermissionError: volume is read-only") as caught:
        ModalRunner().start(payload)
    assert not isinstance(caught.value, RunnerUnavailable)


def test_poll_reads_running_finished_and_failed(fake_credentials, modal_calls, tmp_path):
    behaviour = modal_calls["behaviour"]
    runner = ModalRunner()

    # Finished: the adapter is downloaded next to where a local run would have put it.
    behaviour["_modal_result"] = lambda call_id: FINISHED | {"local_output_dir": str(tmp_path / "run-7")}
    polled = runner.poll("fc-01TEST")
    assert polled == PollResult(
        done=True,
        result=FINISHED
        | {
            "local_output_dir": str(tmp_path / "run-7"),
            "location": "modal",
            "adapter_dir": str(tmp_path / "run-7" / "adapter"),
            "volume_adapter_dir": "/artifacts/adapters/7",
        },
    )
    assert modal_calls["_modal_result"] == [("fc-01TEST",)]
    assert modal_calls["_modal_download"] == [("adapters/7", str(tmp_path / "run-7" / "adapter"))]
    assert (tmp_path / "run-7" / "adapter" / "adapter_config.json").exists()
    # Without a local folder to bring it to (a call spawned by hand), the adapter stays on the volume.
    behaviour["_modal_result"] = lambda call_id: dict(FINISHED)
    assert runner.poll("fc-01TEST").result["adapter_dir"] == "/artifacts/adapters/7"

    def raising(exc):
        def call(call_id):
            raise exc

        return call

    behaviour["_modal_result"] = raising(TimeoutError())  # get(timeout=0) while the call runs
    assert runner.poll("fc-01TEST") == PollResult(done=False)

    behaviour["_modal_result"] = raising(RuntimeError("CUDA out of memory"))  # the remote exception, re-raised
    failed = runner.poll("fc-01TEST")
    assert failed.done and failed.result is None
    assert failed.error.startswith("Traceback") and failed.error.splitlines()[-1] == "RuntimeError: CUDA out of memory"

    # Modal's own timeouts are failures, not "still running" (they are not builtin TimeoutErrors).
    behaviour["_modal_result"] = raising(modal.exception.FunctionTimeoutError("Function timed out after 14400 s"))
    failed = runner.poll("fc-01TEST")
    assert (
        failed.done and failed.error.splitlines()[-1] == "modal.exception.FunctionTimeoutError: Function timed out after 14400 s"
    )
    behaviour["_modal_result"] = raising(modal.exception.OutputExpiredError())
    assert runner.poll("fc-01TEST").error.splitlines()[-1] == "modal.exception.OutputExpiredError"

    # Modal unreachable says nothing about the run: poll again later.
    behaviour["_modal_result"] = raising(modal.exception.ConnectionError("no route to host"))
    with pytest.raises(RunnerUnavailable, match="could not be reached"):
        runner.poll("fc-01TEST")


def test_a_hanging_call_becomes_runner_unavailable_quickly(fake_credentials, modal_calls, payload, hang):
    modal_calls["behaviour"]["_modal_spawn"] = hang
    modal_calls["behaviour"]["_modal_result"] = hang
    runner = ModalRunner(timeout_s=0.5)
    for call, what in (
        (lambda: runner.start(payload), "spawning formrecap-training.train"),
        (lambda: runner.poll("fc-1"), "fc-1"),
    ):
        started = time.monotonic()
        with pytest.raises(RunnerUnavailable, match=rf"Modal did not answer within 0.5 s while .*{what}"):
            call()
        assert time.monotonic() - started < 2


def test_the_timeout_is_configurable(monkeypatch):
    assert (ModalRunner().timeout_s, ModalRunner().download_timeout_s) == (15, 120)
    monkeypatch.setenv("FORMRECAP_MODAL_TIMEOUT_S", "4.5")
    monkeypatch.setenv("FORMRECAP_MODAL_DOWNLOAD_TIMEOUT_S", "60")
    assert (ModalRunner().timeout_s, ModalRunner().download_timeout_s) == (4.5, 60)
    assert ModalRunner(timeout_s=1).timeout_s == 1


def test_a_failed_download_leaves_the_run_to_poll_again(fake_credentials, modal_calls, tmp_path, hang):
    behaviour = modal_calls["behaviour"]
    behaviour["_modal_result"] = lambda call_id: FINISHED | {"local_output_dir": str(tmp_path / "run-7")}
    behaviour["_modal_download"] = lambda volume_dir, dest: []
    with pytest.raises(RunnerError, match="no files under adapters/7"):
        ModalRunner().poll("fc-01TEST")
    behaviour["_modal_download"] = hang  # downloads get their own, longer limit
    started = time.monotonic()
    with pytest.raises(
        RunnerUnavailable, match="within 0.5 s while downloading adapters/7.*raise FORMRECAP_MODAL_DOWNLOAD_TIMEOUT_S"
    ):
        ModalRunner(timeout_s=5, download_timeout_s=0.5).poll("fc-01TEST")
    assert time.monotonic() - started < 2


def test_get_runner():
    assert isinstance(get_runner("local"), LocalRunner)
    assert get_runner("modal", timeout_s=3).timeout_s == 3
    with pytest.raises(RunnerError, match="unknown runner 'gpu'; choose one of local, modal"):
        get_runner("gpu")


# --- local ---------------------------------------------------------------------------------------


def test_local_runner_trains_the_tiny_model_in_process(tmp_path):
    base = build_tiny_model(tmp_path / "base", traces=TRACES * 3)
    config = AdapterTrainingConfig(
        base_model=str(base), max_steps=2, per_device_batch_size=2, gradient_accumulation_steps=1, modules_to_save=["lm_head"]
    )
    payload = build_run_payload(
        run_id=3, config=config, dataset_path=write_dataset(tmp_path / "ds"), output_dir=tmp_path / "run-3"
    )
    runner = get_runner("local")

    started = runner.start(payload)

    assert started.done and started.external_id == str(tmp_path / "run-3")
    result = started.result
    assert result["location"] == "local" and result["run_id"] == "3"
    adapter = Path(result["adapter_dir"])
    assert adapter == tmp_path / "run-3" / "adapter"
    assert (adapter / "adapter_config.json").exists()
    assert result["manifest"]["steps"] == 2 and result["manifest"]["train_examples"] == 12
    # A redelivered task polling the same run finds it finished, with the same manifest.
    polled = runner.poll(started.external_id)
    assert polled.done and polled.error is None and polled.result["manifest"] == result["manifest"]
    assert runner.fetch_adapter(result, tmp_path / "elsewhere") == adapter
    assert runner.poll(str(tmp_path / "never-ran")).error.startswith("no finished local run")
