"""Training fixtures: a tiny base model and one real LoRA adapter trained on it (3 steps on CPU), made once
per test session, plus a dataset row and the Modal double for the tasks, retraining and admin tests."""

from pathlib import Path

import pytest

from tests.training.helpers import tiny_config
from tests.training.modal_double import ModalDouble
from training.datasets import deduplicate, stratified_split
from training.lora.dataset import dataset_assemble, simulator_examples
from training.lora.prompt import chat_record
from training.models import Dataset

TINY_EXAMPLES = 60


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A tiny tokenizer + Llama model built locally (no weights can be downloaded here)."""
    from training.lora.tiny import build_tiny_model

    traces = [example["events"] for example in simulator_examples(TINY_EXAMPLES, seed=11)]
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "base", traces=traces)


@pytest.fixture(scope="session")
def tiny_adapter(tiny_base, tmp_path_factory) -> tuple[Path, dict]:
    """(adapter folder, training manifest) of a real fine-tuning run: 3 steps on ~60 simulated sessions."""
    from training.lora.train import fine_tune

    kept, _ = deduplicate(simulator_examples(TINY_EXAMPLES, seed=12))
    splits = stratified_split(kept, seed=12)
    records = {
        part: [chat_record(e["trace"], e["label"], e["reason"], e["confidence"]) for e in splits[part]]
        for part in ("train", "validation")
    }
    config = tiny_config(tiny_base)
    out = tmp_path_factory.mktemp("tiny-run")
    finished = fine_tune(config, train=records["train"], validation=records["validation"], output_dir=out)
    return finished.adapter_dir, finished.manifest


@pytest.fixture
def tiny_dataset(db) -> Dataset:
    """A dataset version as dataset_assemble writes it (train/validation/test in the model format)."""
    return dataset_assemble(name="tiny", examples=simulator_examples(TINY_EXAMPLES, seed=13), seed=13)


@pytest.fixture
def modal_credentials(monkeypatch, tmp_path):
    """A Modal token in the environment (the runner checks for one before any call); no ~/.modal.toml."""
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-test")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-test")
    monkeypatch.delenv("MODAL_PROFILE", raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "absent.toml"))


@pytest.fixture
def modal_scripts(tmp_path) -> Path:
    """Where tests script how the Modal double answers, by run id (tests.training.modal_double.script_run)."""
    return tmp_path / "modal-scripts.json"


@pytest.fixture
def modal_double(monkeypatch, modal_credentials, tiny_adapter, modal_scripts) -> ModalDouble:
    adapter_dir, manifest = tiny_adapter
    return ModalDouble(adapter_dir=adapter_dir, manifest=manifest, scripts=modal_scripts).install(monkeypatch.setattr)
