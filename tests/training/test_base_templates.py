"""Fine-tuning and the read-out work with real bases' chat templates (TRL's bundled copies), not only the tiny one:
no {% generation %} markers needed, and a template without a system role (Gemma) gets the class list in the user turn."""

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import trl
from django.core.management import call_command
from transformers import AutoTokenizer

from classifier.prompting import supports_system_role
from classifier.readout import digit_log_probs, load_adapter
from training.lora.config import AdapterTrainingConfig
from training.lora.prompt import chat_record
from training.lora.tiny import TINY_MARKER
from training.lora.train import fine_tune

TEMPLATES = Path(trl.__file__).parent / "chat_templates"
RECORDS = [chat_record("focus:email, input:email(x8), blur:email(invalid_format), exit", i % 6 + 1, "r", 0.9) for i in range(12)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny") / "model"
    call_command("build_tiny_model", "--out", str(out), "--traces", "60", stdout=io.StringIO())
    return out


@pytest.mark.parametrize("template", ["llama3_2", "llama3_1", "gemma", "qwen2_5"])
def test_trains_and_reads_out_with_a_real_chat_template(tiny, tmp_path, template):
    base = tmp_path / "base"
    shutil.copytree(tiny, base)
    (base / TINY_MARKER).unlink()  # behave like a hub base
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.chat_template = (TEMPLATES / f"{template}.jinja").read_text()
    tokenizer.save_pretrained(base)
    config = AdapterTrainingConfig(base_model=str(base), max_steps=1, per_device_batch_size=4, gradient_accumulation_steps=1)
    result = fine_tune(config, train=RECORDS[:8], validation=RECORDS[8:], output_dir=tmp_path / "out")
    model, loaded = load_adapter(result.adapter_dir)
    assert supports_system_role(loaded) == (template != "gemma")
    log_probs = digit_log_probs(model, loaded, ["focus:email, exit"])
    assert log_probs.shape == (1, 6) and np.exp(log_probs).sum() == pytest.approx(1.0, abs=1e-5)
