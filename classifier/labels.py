"""The six abandonment classes; the digit is the model's first output token (DESIGN.md)."""

CLASSES: dict[int, str] = {
    1: "validation_error",
    2: "distraction",
    3: "comparison_shopping",
    4: "accidental_exit",
    5: "bot",
    6: "committed_leave",
}
CODES: dict[str, int] = {name: code for code, name in CLASSES.items()}
CLASS_CODES: tuple[int, ...] = tuple(CLASSES)
