"""Drawing sessions: class from the mix, a form type, a visitor speed, then the class behaviour."""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from classifier.labels import CLASSES

from .behaviours import BEHAVIOURS
from .browser_style import as_browser_session
from .forms import FORM_TYPES, build_form
from .recorder import Recorder
from .thin import THIN_PROBABILITY, thin_session

GENERATOR_VERSION = "sim-2.1"
# Shares of sessions rendered as the real snippet sends them (kinds, idle scrolls, tab switches), of those
# still without kinds (cached older snippets), and of sessions whose form names its fields input_1, input_2 …
BROWSER_SHARE = 0.6
NO_KINDS_SHARE = 0.1
OPAQUE_SHARE = 0.2

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
    style: str = "plain"  # plain | browser, with "+opaque" when the names say nothing

    def as_record(self) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "class": CLASSES[self.label],
            "form_type": self.form_type,
            "variant": self.variant,
            "style": self.style,
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
        if session_rng.random() < THIN_PROBABILITY[label]:
            recorder = Recorder(session_rng, speed=speed)
            variant = thin_session(session_rng, form, recorder, label)
        else:
            recorder = Recorder(session_rng, speed=speed, bot=label == 5)
            variant = BEHAVIOURS[label](session_rng, form, form_type, recorder)
        events, style = recorder.events, "plain"
        browser, opaque = session_rng.random() < BROWSER_SHARE, session_rng.random() < OPAQUE_SHARE
        if browser or opaque:
            kinds = browser and session_rng.random() >= NO_KINDS_SHARE
            events = as_browser_session(session_rng, events, form, kinds=kinds, opaque=opaque, artefacts=browser)
            style = ("browser" if browser else "plain") + ("+opaque" if opaque else "")
        yield SimulatedSession(f"sim-{seed}-{index}", label, form_type, variant, events, style)
