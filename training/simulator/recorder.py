"""Emits raw snippet events on a simulated clock, with human (or bot) timing."""

import math
import random


class Recorder:
    def __init__(self, rng: random.Random, *, speed: float = 1.0, bot: bool = False) -> None:
        self.rng = rng
        self.speed = speed  # >1 is slower than the median visitor
        self.bot = bot
        self.t = float(rng.randint(0, 20) if bot else rng.randint(300, 4000))
        self.events: list[dict] = []
        # A paced script's fixed delay between keys (its timer drifts a millisecond or two); None: as fast as it can.
        self.key_gap_ms: float | None = None

    # --- time -------------------------------------------------------------

    def _human_ms(self, median: float, sigma: float = 0.5, low: float = 30, high: float = 60_000) -> float:
        return min(high, max(low, median * self.speed * math.exp(self.rng.gauss(0, sigma))))

    def wait(self, ms: float) -> None:
        self.t += ms

    def between_fields(self) -> None:
        self.wait(self.rng.uniform(0, 30) if self.bot else self._human_ms(1100, 0.5, 250, 4500))

    # --- events -----------------------------------------------------------

    def emit(self, kind: str, field: str | None = None, **extra) -> None:
        event = {"type": kind, "ts": int(self.t)}
        if field is not None:
            event["field"] = field
        event.update(extra)
        self.events.append(event)

    def focus(self, field: str) -> None:
        self.emit("focus", field)

    def blur(self, field: str, reason: str | None = None) -> None:
        if reason:
            self.emit("blur", field, validation=reason)
        else:
            self.emit("blur", field)

    def type(self, field: str, keystrokes: int, *, hesitate: bool = True) -> None:
        for index in range(keystrokes):
            if index:
                if self.bot and self.key_gap_ms is not None:
                    self.wait(self.key_gap_ms + self.rng.choice((0, 0, 0, 1, 2)))
                elif self.bot:
                    self.wait(self.rng.uniform(0, 18))
                else:
                    self.wait(self._human_ms(165, 0.45, 45, 1400))
                    if hesitate and self.rng.random() < 0.03:
                        self.wait(self._human_ms(900, 0.5, 300, 3500))
            self.emit("input", field)

    def fill(self, field: str, keystrokes: int, reason: str | None = None, *, blur: bool = True) -> None:
        """Move to a field, type, and leave it (optionally failing validation)."""
        self.between_fields()
        self.focus(field)
        self.wait(self.rng.uniform(0, 15) if self.bot else self._human_ms(450, 0.5, 120, 2500))
        self.type(field, keystrokes)
        if blur:
            self.wait(self.rng.uniform(0, 15) if self.bot else self._human_ms(350, 0.5, 80, 1500))
            self.blur(field, reason)

    def autofill(self, fields: list[str]) -> None:
        """A suggestion picked in the first field: every field gets its value at once, only the first is focused."""
        self.between_fields()
        self.focus(fields[0])
        self.wait(self._human_ms(900, 0.5, 300, 3000))  # opening the suggestion list and picking one
        for field in fields:
            self.emit("input", field)
            self.wait(self.rng.uniform(0, 4))
        self.wait(self._human_ms(700, 0.5, 150, 3000))
        self.blur(fields[0])

    def fill_like_a_script(self, field: str, keystrokes: int, reason: str | None = None) -> None:
        self.focus(field)
        self.wait(self.rng.uniform(0, 15))
        self.type(field, keystrokes, hesitate=False)
        self.wait(self.rng.uniform(1, 30))
        self.blur(field, reason)

    def look(self, field: str, dwell_ms: float) -> None:
        """Focus an element (or region) without typing, dwell, leave."""
        self.between_fields()
        self.focus(field)
        self.wait(dwell_ms)
        self.blur(field)

    def scroll(self, ms: float) -> None:
        # The snippet reports a scroll when it stops, with its duration.
        self.wait(ms)
        self.emit("scroll", duration_ms=int(ms))

    def idle(self, ms: float) -> None:
        """Nothing happening: reported as a scroll with the idle duration, or only as a gap in timestamps."""
        if self.rng.random() < 0.7:
            self.scroll(ms)
        else:
            self.wait(ms)

    def exit(self) -> None:
        self.wait(self.rng.uniform(0, 20) if self.bot else self._human_ms(600, 0.7, 50, 4000))
        self.emit("exit")

    def submit(self) -> None:
        self.wait(self.rng.uniform(0, 40) if self.bot else self._human_ms(700, 0.5, 100, 3000))
        self.emit("submit")
