"""Training runs are made in one place (training_config_prepare, training_run_create) from flags, admin fields or a
YAML config under training/configs/; what cannot train is refused naming the problem, before anything is stored."""

from dataclasses import replace
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from training.lora.config import AdapterTrainingConfig, ConfigError, config_fields_from_yaml
from training.lora.tiny import TINY_MARKER
from training.models import TrainingRun
from training.runs import training_config_prepare, training_run_create

CONFIGS = Path(__file__).resolve().parents[2] / "training" / "configs"


@pytest.fixture
def marked_tiny_base(tmp_path) -> Path:
    """A folder marked as the tiny stand-in (what build_tiny_model writes); its weights are not read here."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / TINY_MARKER).write_text("{}")
    return folder


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_is_a_valid_run(path, marked_tiny_base):
    values = config_fields_from_yaml(path)
    config = AdapterTrainingConfig(**values)
    if path.name.startswith("tiny"):
        config = replace(config, base_model=str(marked_tiny_base))  # var/tiny is built by build_tiny_model
    prepared = training_config_prepare(config)
    assert prepared.profile in ("research", "cloudflare")
    assert prepared.effective_batch == 16 or path.name.startswith("tiny")  # the arithmetic in the files' comments


def test_numbers_yaml_reads_as_text_are_taken_as_numbers(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("base_model: x\nlearning_rate: 2e-4\nepochs: 3\nmax_steps: -1\n")  # YAML reads 2e-4 as a string
    assert config_fields_from_yaml(path) == {"base_model": "x", "learning_rate": 2e-4, "epochs": 3.0, "max_steps": -1}


def test_a_tiny_base_learns_its_output_layer_whoever_starts_the_run(marked_tiny_base):
    prepared = training_config_prepare(AdapterTrainingConfig(base_model=str(marked_tiny_base), profile="cloudflare"))
    assert prepared.modules_to_save == ["lm_head"]
    hub = training_config_prepare(AdapterTrainingConfig(base_model="meta-llama/Llama-3.2-3B-Instruct"))
    assert hub.modules_to_save is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("base_model: x\nrank_typo: 8\n", r"unknown setting\(s\) rank_typo"),
        ("extra: {modal_double: {}}\n", r"unknown setting\(s\) extra"),
        ("- a list\n", "expected a mapping of settings, got list"),
        ("base_model: [unclosed\n", "not valid YAML"),
        ("base_model: x\nmax_steps: lots\n", "max_steps must be a whole number, got 'lots'"),
        ("base_model: x\nmodules_to_save: lm_head\n", "modules_to_save must be a list of module names"),
        ("base_model: x\nepochs: true\n", "epochs must be a number, got True"),
    ],
)
def test_a_bad_yaml_config_is_refused_naming_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        config_fields_from_yaml(path)


def test_what_cannot_train_is_never_stored_as_a_run(tiny_dataset):
    for config, message in [
        (AdapterTrainingConfig(base_model="some/model", profile="cloudflare"), "does not serve LoRA adapters"),
        (AdapterTrainingConfig(base_model="some/model", epochs=0), "epochs or max_steps must be positive"),
        (AdapterTrainingConfig(base_model="some/model", max_length=8), "max_length must be at least 16"),
    ]:
        with pytest.raises(ConfigError, match=message):
            training_run_create(dataset=tiny_dataset, runner="local", config=config)
    assert not TrainingRun.objects.exists()


@pytest.mark.parametrize(
    ("text", "flags", "message"),
    [
        ("base_model: some/model\nprofile: cloudflare\n", [], "does not serve LoRA adapters for 'some/model'"),
        ("base_model: some/model\nprofile: cloudflare\n", ["--max-steps", "0", "--epochs", "0"], "epochs or max_steps"),
        ("base_model: some/model\nbatch: 3\n", [], "--config: .*unknown setting"),
        ("profile: research\n", [], "a base model is needed"),
    ],
)
def test_the_command_reads_a_config_and_refuses_what_cannot_train(tiny_dataset, tmp_path, text, flags, message):
    config = tmp_path / "run.yaml"
    config.write_text(text)
    with pytest.raises(CommandError, match=message):
        call_command("train_adapter", "--config", str(config), "--dataset", str(tiny_dataset.pk), *flags)
    assert not TrainingRun.objects.exists()
