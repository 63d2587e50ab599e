"""Builders for the training tests: run configs for the tiny base, a separable labelled set, operator-labelled sessions,
held-out metrics."""

import random
from pathlib import Path

from classifier.models import SessionLabel
from formrecap.models import Site
from tests.classifier.helpers import recorded_session
from training.held_out import METRICS_KEY, held_out_sets_available
from training.lora.config import AdapterTrainingConfig
from training.lora.dataset import _example
from training.simulator import simulate_sessions
from training.simulator.forms import INFO_REGIONS, KINDS, REQUIREMENT_FIELDS


def tiny_config(tiny_base: Path) -> AdapterTrainingConfig:
    """A 3-step config for the tiny base."""
    return AdapterTrainingConfig(
        base_model=str(tiny_base),
        max_steps=3,
        per_device_batch_size=4,
        gradient_accumulation_steps=1,
        modules_to_save=["lm_head"],
    )


def labelled_sessions(site: Site, count: int, *, seed: int = 0) -> list[SessionLabel]:
    """``count`` recorded sessions (simulated visitors, each different) labelled by an operator."""
    labels = []
    for simulated in simulate_sessions(count, seed=seed):
        session = recorded_session(site, simulated.events)
        labels.append(SessionLabel.all_tenants.create(tenant=site.tenant, session=session, code=simulated.label))
    return labels


def held_out_metrics(macro_f1: float, ece: float, *, n: int = 96) -> dict:
    """``metrics`` of a model measured on every held-out set available now (their current files)."""
    return {
        METRICS_KEY: {
            s.name: {"n": n, "macro_f1": macro_f1, "ece": ece, "set": s.name, "sha256": s.sha256}
            for s in held_out_sets_available()
        }
    }


# One unmistakable shape per class (a separable set), with field names varied so nothing is a duplicate.
SHAPES = {
    1: "focus:{f}, input:{f}(x{n}), blur:{f}(invalid_format), focus:{f}, input:{f}(x3), blur:{f}(invalid_format), exit",
    2: "focus:{f}, input:{f}(x{n}), blur:{f}, scroll:page({idle}ms), exit",
    3: "focus:{r}, blur:{r}, scroll:page(2000ms), focus:{r2}, blur:{r2}, focus:{r}, blur:{r}, exit",
    4: "focus:{f}, input:{f}(x{n}), blur:{f}, focus:{g}, input:{g}(x2), exit",
    5: "input:{f}(x{n}), input:message(x{burst}), submit",
    6: "scroll:page(1500ms), focus:{q}, blur:{q}, exit",
}


def separable_examples(per_class: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    names = sorted({name for kind in KINDS.values() for name in kind.names})
    examples = []
    for code, shape in SHAPES.items():
        for _ in range(per_class):
            f, g = rng.sample(names, 2)
            trace = shape.format(
                f=f, g=g, n=rng.randint(4, 20), idle=rng.randint(60, 900) * 1000, burst=rng.randint(150, 600),
                r=rng.choice(INFO_REGIONS), r2=rng.choice(INFO_REGIONS), q=rng.choice(REQUIREMENT_FIELDS),
            )  # fmt: skip
            examples.append(_example(trace, code, "a clear case", 0.9, "simulator"))
    return examples
