"""The Modal app: imports offline with no token, declares the right GPU/volumes/secrets, and its
function bodies (run in-process with ``.local()`` on the tiny model) train and merge for real."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from training.lora.config import AdapterTrainingConfig
from training.lora.prompt import chat_record
from training.lora.runners import build_run_payload, modal_payload
from training.lora.tiny import build_tiny_model

REPO = Path(__file__).resolve().parents[2]
MODAL_IMPORT = re.compile(r"^\s*(import modal|from modal[ .])", re.MULTILINE)
TRACES = [
    "focus:email, input:email(x8), blur:email(invalid_format), focus:email, input:email(x9), blur:email(invalid_format), exit",
    "focus:name, input:name(x5), blur:name, scroll:page(60000ms), exit",
    "focus:pricing_table, blur:pricing_table, scroll:page(1500ms), focus:plan_tier, blur:plan_tier, exit",
    "focus:name, input:name(x6), blur:name, focus:email, input:email(x3), exit",
    "input:name(x5), input:email(x12), input:message(x300), submit",
    "scroll:page(800ms), focus:upload_cv, blur:upload_cv, exit",
]


def offline_env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    return env | {"HOME": str(tmp_path), "MODAL_CONFIG_PATH": str(tmp_path / "no-modal.toml"), "PYTHONPATH": str(REPO)} | extra


# Any socket connection fails: the import must not need the network.
NO_NETWORK = (
    "import socket\ndef refuse(*a, **k): raise OSError('network disabled in this test')\nsocket.socket.connect = refuse\n"
)


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", NO_NETWORK + code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_app_imports_offline_without_a_token(tmp_path):
    code = (
        "import sys, json\n"
        "import training.modal_app as m\n"
        "heavy = sorted(name for name in ('torch', 'django', 'vllm') if name in sys.modules)\n"
        "print(json.dumps({'app': m.app.name, 'gpu': m.train.info().gpus, 'heavy': heavy}))\n"
    )
    done = run_python(code, offline_env(tmp_path))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"app": "formrecap-training", "gpu": [["L4", 1]], "heavy": []}


def test_gpu_and_training_timeout_come_from_the_environment(tmp_path):
    code = "import training.modal_app as m\nprint(m.train.info().gpus, m.train.info().timeout, m.serve.info().gpus)\n"
    env = offline_env(
        tmp_path, FORMRECAP_MODAL_GPU="A100-80GB", FORMRECAP_MODAL_TRAIN_TIMEOUT_S="7200", FORMRECAP_MODAL_SERVE_GPU="H100"
    )
    done = run_python(code, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[('A100-80GB', 1)] 7200 [('H100', 1)]"


def test_only_the_modal_modules_import_modal(tmp_path):
    importers = []
    for path in REPO.glob("**/*.py"):
        if {".venv", "tests", "node_modules"} & set(path.relative_to(REPO).parts):
            continue
        if MODAL_IMPORT.search(path.read_text()):
            importers.append(str(path.relative_to(REPO)))
    assert sorted(importers) == ["training/lora/runners.py", "training/modal_app.py"]
    # runners.py imports modal only inside the calls that talk to Modal.
    done = run_python("import sys, training.lora.runners\nprint('modal' in sys.modules)\n", offline_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_functions_declare_gpu_volumes_secrets_and_timeouts():
    from training import modal_app

    mounts = {"/artifacts": ("formrecap-artifacts", False), "/hf-cache": ("formrecap-hf-cache", False)}
    for function, timeout in ((modal_app.train, 4 * 3600), (modal_app.merge_adapter, 3600)):
        info = function.info()
        assert info.gpus == [("L4", 1)]
        assert info.timeout == timeout
        assert {path: (v.name, v.read_only) for path, v in info.volumes.items()} == mounts
        assert info.secrets == ["modal.Secret.from_name('formrecap-hf')"]
        assert info.web_info is None

    serve = modal_app.serve.info()
    assert serve.gpus == [("L4", 1)]
    assert {path: (v.name, v.read_only) for path, v in serve.volumes.items()} == mounts | {
        "/artifacts": ("formrecap-artifacts", True)
    }
    assert serve.secrets[0] == "modal.Secret.from_name('formrecap-hf')"
    assert serve.web_info is not None and serve.web_info.unauthenticated is False  # behind Modal proxy auth
    assert serve.concurrency_info.max_inputs == 32


def test_training_image_installs_the_pinned_ml_stack():
    from training import modal_app

    pins = {}
    for name in ("ml.txt", "web.txt"):
        for line in (REPO / "requirements" / name).read_text().splitlines():
            if "==" in line and not line.startswith("#"):
                pins[line.split("==")[0].split("[")[0].lower()] = line.strip()
    assert modal_app._training_requirements == [pins[name] for name in modal_app.TRAINING_PACKAGES]
    assert {"torch", "transformers", "peft", "trl", "bitsandbytes"} <= set(modal_app.TRAINING_PACKAGES)
    with pytest.raises(RuntimeError, match="no pinned version .* for: vllm"):
        modal_app.pinned_requirements(("torch", "vllm"))


def test_volume_paths_stay_on_the_volume(tmp_path, monkeypatch):
    from training import modal_app

    monkeypatch.setattr(modal_app, "ARTIFACTS", tmp_path)
    assert modal_app.volume_path("datasets/abc/train.jsonl") == tmp_path / "datasets/abc/train.jsonl"
    assert modal_app.volume_path("/artifacts/adapters/7") == tmp_path / "adapters/7"
    for bad in ("/etc/passwd", "adapters/../../etc", "/artifacts"):
        with pytest.raises(ValueError, match="artifacts volume"):
            modal_app.volume_path(bad)


def test_vllm_command_serves_the_base_with_lora_and_logprobs(tmp_path):
    from training import modal_app

    command = modal_app.vllm_command(
        "google/gemma-2b-it", {"run-7": Path("/artifacts/adapters/7"), "run-9": Path("/artifacts/adapters/9")}
    )
    assert command[:3] == ["vllm", "serve", "google/gemma-2b-it"]
    assert command[command.index("--max-logprobs") + 1] == "20"
    assert command[command.index("--logprobs-mode") + 1] == "processed_logprobs"
    assert command[command.index("--generation-config") + 1] == "vllm"
    assert "--enable-lora" in command
    assert command[command.index("--lora-modules") + 1 :][:2] == ["run-7=/artifacts/adapters/7", "run-9=/artifacts/adapters/9"]
    assert "--lora-modules" not in modal_app.vllm_command("google/gemma-2b-it", {})

    assert modal_app.lora_rank_limit({}) == 32
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "adapter_config.json").write_text(json.dumps({"r": 48}))
    assert modal_app.lora_rank_limit({"big": tmp_path / "big"}) == 64


def test_adapter_list_setting(tmp_path, monkeypatch):
    from training import modal_app

    monkeypatch.setattr(modal_app, "ARTIFACTS", tmp_path)
    assert modal_app.parse_adapter_list("a=adapters/1, b=/artifacts/adapters/2,") == {
        "a": tmp_path / "adapters/1",
        "b": tmp_path / "adapters/2",
    }
    with pytest.raises(ValueError, match="not NAME=PATH"):
        modal_app.parse_adapter_list("adapters/1")


# --- the function bodies, run in-process on the tiny model --------------------------------------


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "base", traces=TRACES * 3)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dataset")
    # As training/lora/dataset.py writes them: the chat record plus bookkeeping columns the runner drops.
    records = [
        {
            **chat_record(trace, index % 6 + 1, "seen in the trace", 0.9),
            "label": index % 6 + 1,
            "trace": trace,
            "source": "simulator",
        }
        for index, trace in enumerate(TRACES * 2)
    ]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:2]))
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:2]))
    return folder


@pytest.mark.filterwarnings("ignore:The .* function is executing locally")
def test_train_then_merge_in_process_from_what_the_runner_sends(tiny_base, dataset_dir, tmp_path, monkeypatch):
    """The runner's payload and uploads, placed on a stand-in volume, train and merge with the app's own code."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from training import modal_app

    volume = tmp_path / "volume"
    monkeypatch.setattr(modal_app, "ARTIFACTS", volume)
    config = AdapterTrainingConfig(
        base_model=str(tiny_base),
        max_steps=2,
        per_device_batch_size=2,
        gradient_accumulation_steps=1,
        modules_to_save=["lm_head"],
    )
    payload = build_run_payload(run_id=41, config=config, dataset_path=dataset_dir, output_dir=tmp_path / "run-41")
    remote, uploads = modal_payload(payload, dataset_on_volume=False)
    for remote_path, local_path in uploads.items():  # what batch_upload would put on the volume
        (volume / remote_path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(local_path, volume / remote_path.lstrip("/"))

    result = modal_app.train.local(remote)

    assert result["run_id"] == "41"
    assert result["adapter_path"] == "adapters/41"
    assert result["adapter_dir"] == "/artifacts/adapters/41"
    assert result["local_output_dir"] == str(tmp_path / "run-41")  # for the runner's poll to download into
    adapter = volume / "adapters" / "41"
    assert {"adapter_config.json", "adapter_model.safetensors", "training_manifest.json"} <= {p.name for p in adapter.iterdir()}
    assert not (adapter / "checkpoints").exists()  # checkpoints stay in the container's scratch space
    manifest = result["manifest"]
    assert manifest == json.loads((adapter / "training_manifest.json").read_text())
    assert manifest["steps"] == 2 and manifest["train_examples"] == 12 and manifest["validation_examples"] == 2
    # The uploaded base (bases/<hash>) was used, read through the volume.
    assert manifest["config"]["base_model"].startswith(str(volume / "bases"))

    merged = modal_app.merge_adapter.local({"adapter_path": result["adapter_path"]})
    assert merged["merged_path"] == "merged/41"
    merged_model = AutoModelForCausalLM.from_pretrained(volume / "merged" / "41")
    with_adapter = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(manifest["config"]["base_model"]), adapter)
    ids = torch.tensor([[1, 5, 9, 12, 40]])
    with torch.no_grad():
        assert torch.allclose(merged_model(ids).logits, with_adapter.eval()(ids).logits, atol=1e-4)

    # vLLM cannot load this adapter (DoRA, lm_head in modules_to_save): the server skips it and says why.
    servable, skipped = modal_app.servable_adapters(manifest["config"]["base_model"], volume / "adapters")
    assert servable == {}
    assert "DoRA" in skipped["run-41"]
    plain = volume / "adapters" / "42"
    shutil.copytree(adapter, plain)
    settings = json.loads((plain / "adapter_config.json").read_text())
    (plain / "adapter_config.json").write_text(json.dumps(settings | {"use_dora": False, "modules_to_save": None}))
    servable, skipped = modal_app.servable_adapters(manifest["config"]["base_model"], volume / "adapters")
    assert servable == {"run-42": plain}
    assert "trained on" in modal_app.servable_adapters("google/gemma-2b-it", volume / "adapters")[1]["run-42"]
