"""Sessions too short to be sure of: two to four events, labelled as often as each reason produces them.

A visitor who focuses one field and leaves may have decided no, misclicked the back button, or been called
away. A model trained only on clear cases reads such a trace at 0.99+; trained on these, with the labels
drawn from how plausible each reading is, it learns that the evidence is thin and says so.
"""

import random

from .recorder import Recorder

# shape → (label code → weight): a careful labeller's odds, not certainties.
THIN_SHAPES: dict[str, dict[int, float]] = {
    "focus_exit": {6: 0.6, 4: 0.25, 2: 0.15},
    "focus_blur_exit": {6: 0.65, 4: 0.2, 2: 0.15},
    "typed_exit": {4: 0.55, 6: 0.3, 2: 0.15},
    "typed_blur_exit": {6: 0.45, 4: 0.4, 2: 0.15},
    "scroll_exit": {6: 0.65, 3: 0.2, 2: 0.15},
}
THIN_SHARE = 0.05  # of the sessions of the class most often thin


# How often each class plays a thin session, so that among thin sessions of one shape the classes appear at
# the shape's odds whatever the class mix, and the mix itself is kept.
_TOTAL_ODDS = {label: sum(odds.get(label, 0.0) for odds in THIN_SHAPES.values()) for label in range(1, 7)}
THIN_PROBABILITY = {label: THIN_SHARE * total / max(_TOTAL_ODDS.values()) for label, total in _TOTAL_ODDS.items()}


def thin_session(rng: random.Random, form: list[tuple[str, str]], rec: Recorder, label: int) -> str:
    """Plays one thin session of class ``label`` on ``rec``; returns its variant."""
    shapes = sorted(THIN_SHAPES)
    shape = rng.choices(shapes, weights=[THIN_SHAPES[shape].get(label, 0.0) for shape in shapes])[0]
    _, name = rng.choice(form[:3])
    if shape == "scroll_exit":
        rec.scroll(rng.uniform(800, 9000))
    else:
        rec.between_fields()
        rec.focus(name)
        rec.wait(rec._human_ms(600, 0.6, 100, 4000))
        if shape.startswith("typed"):
            rec.type(name, rng.randint(1, 9), hesitate=False)
        if "blur" in shape:
            rec.wait(rec._human_ms(400, 0.5, 80, 2000))
            rec.blur(name)
    rec.wait(rec._human_ms(700, 0.7, 50, 5000))
    rec.emit("exit")
    return f"thin_{shape}"
