"""Drawing sessions: class from the mix, a form type, a visitor speed, then the class behaviour."""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from classifier.labels import CLASSES

from .behaviours import BEHAVIOURS
from .forms import FORM_TYPES, build_form
from .recorder import Recorder

GENERATOR_VERSION = "sim-1.0"

# Roughly what abandonment traffic looks like: many validation and distraction exits, fewer bots.
DEFAULT_MIX: dict[int, float] = {1: 0.24, 2: 0.2, 3: 0.14, 4: 0.12, 5: 0.1, 6: 0.2}
BALANCED_MIX: dict[int, float] = {code: 1 / 6 for code in CLASSES}


@dataclass(frozen=True)
class SimulatedSession:
    id: str
    label: int
    form_type: str
    variant: str
    events: list[dict]

    def as_record(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "class": CLASSES[self.label],
            "form_type": self.form_type,
            "variant": self.variant,
            "events": self.events,
        }


def simulate_sessions(count: int, *, seed: int, mix: dict[int, float] | None = None) -> Iterator[SimulatedSession]:
    """``count`` sessions; the same seed gives the same sessions."""
    mix = mix or DEFAULT_MIX
    codes, weights = list(mix), list(mix.values())
    rng = random.Random(seed)
    form_types = sorted(FORM_TYPES)
    for index in range(count):
        label = rng.choices(codes, weights=weights)[0]
        session_rng = random.Random(rng.getrandbits(64))
        form_type = session_rng.choice(form_types)
        form = build_form(session_rng, form_type)
        speed = math.exp(session_rng.gauss(0, 0.3))
        recorder = Recorder(session_rng, speed=speed, bot=label == 5)
        variant = BEHAVIOURS[label](session_rng, form, form_type, recorder)
        yield SimulatedSession(f"sim-{seed}-{index}", label, form_type, variant, recorder.events)
