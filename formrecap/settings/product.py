"""FormRecap's own knobs: ingest limits and the demo tenant."""

from .env import BASE_DIR, env

FORMRECAP_INGEST_MAX_BODY_BYTES = env.int("FORMRECAP_INGEST_MAX_BODY_BYTES", default=64 * 1024)
FORMRECAP_INGEST_MAX_EVENTS_PER_BATCH = env.int("FORMRECAP_INGEST_MAX_EVENTS_PER_BATCH", default=500)
FORMRECAP_SESSION_MAX_BATCHES = env.int("FORMRECAP_SESSION_MAX_BATCHES", default=200)
FORMRECAP_SESSION_MAX_EVENTS = env.int("FORMRECAP_SESSION_MAX_EVENTS", default=10_000)
# A key's last_used_at is written at most this often, so authenticated reads stay reads.
FORMRECAP_API_KEY_TOUCH_SECONDS = env.int("FORMRECAP_API_KEY_TOUCH_SECONDS", default=60)

FORMRECAP_DEMO_ORIGIN = env("FORMRECAP_DEMO_ORIGIN", default="http://127.0.0.1:8000")
FORMRECAP_DEMO_PASSWORD = env("FORMRECAP_DEMO_PASSWORD", default="formrecap-demo")

# Where trained model artifacts live (the embedded model, downloaded adapters).
FORMRECAP_MODEL_DIR = env.path("FORMRECAP_MODEL_DIR", default=str(BASE_DIR / "var" / "models"))
# Sessions simulated when the demo setup trains the first embedded model.
FORMRECAP_EMBEDDED_TRAIN_COUNT = env.int("FORMRECAP_EMBEDDED_TRAIN_COUNT", default=12_000)

# Promotion gate: a candidate must not lose more macro-F1 than this against the live model,
# and its ECE must not exceed the bound (the published best is 0.04).
FORMRECAP_PROMOTION_F1_TOLERANCE = env.float("FORMRECAP_PROMOTION_F1_TOLERANCE", default=0.01)
FORMRECAP_PROMOTION_MAX_ECE = env.float("FORMRECAP_PROMOTION_MAX_ECE", default=0.06)
# Floor for any promotion (chance is 1/6 ≈ 0.17), so a calibrated but useless model never goes live.
FORMRECAP_PROMOTION_MIN_F1 = env.float("FORMRECAP_PROMOTION_MIN_F1", default=0.5)
# Beat retraining: how many new operator labels since the live adapter justify a new run.
FORMRECAP_RETRAIN_MIN_LABELS = env.int("FORMRECAP_RETRAIN_MIN_LABELS", default=50)
FORMRECAP_RETRAIN_RUNNER = env("FORMRECAP_RETRAIN_RUNNER", default="modal")
FORMRECAP_RETRAIN_PROFILE = env("FORMRECAP_RETRAIN_PROFILE", default="research")
FORMRECAP_RETRAIN_BASE_MODEL = env("FORMRECAP_RETRAIN_BASE_MODEL", default="meta-llama/Llama-3.2-3B-Instruct")
FORMRECAP_RETRAIN_SIMULATED = env.int("FORMRECAP_RETRAIN_SIMULATED", default=1100)
# Claude data generation (manage.py generate_claude): model and prices per million tokens for the cost tally.
FORMRECAP_CLAUDE_MODEL = env("FORMRECAP_CLAUDE_MODEL", default="claude-haiku-4-5")
FORMRECAP_CLAUDE_INPUT_USD_PER_MTOK = env.float("FORMRECAP_CLAUDE_INPUT_USD_PER_MTOK", default=1.0)
FORMRECAP_CLAUDE_OUTPUT_USD_PER_MTOK = env.float("FORMRECAP_CLAUDE_OUTPUT_USD_PER_MTOK", default=5.0)

# Recovery webhooks. Loopback targets (127.0.0.0/8, ::1, and plain http to them) are for local development
# and tests only: the flag is ignored unless DEBUG is on, and no other private address is ever allowed.
FORMRECAP_WEBHOOK_ALLOW_LOOPBACK = env.bool("FORMRECAP_WEBHOOK_ALLOW_LOOPBACK", default=False)
FORMRECAP_WEBHOOK_TIMEOUT_SECONDS = env.float("FORMRECAP_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# The held-out sets every model is evaluated on (never trained or tuned on), name -> JSONL file; the promotion gate
# compares candidate and live model on each set present, by content (training/held_out.py). They live in training/
# because the image leaves tests/ out. Env: "hand_labelled=/path/a.jsonl,browser_test=b.jsonl" (relative to the repo).
FORMRECAP_HELD_OUT_SETS = {
    name: BASE_DIR / path
    for name, path in env.dict(
        "FORMRECAP_HELD_OUT_SETS",
        default={
            "hand_labelled": "training/data/hand_labelled.jsonl",
            "hand_written_test": "training/data/hand_written_test.jsonl",
            "browser_test": "training/data/browser/test.jsonl",
        },
    ).items()
}
# The one-file variable of earlier releases still names the hand-labelled set.
if env.str("FORMRECAP_HELD_OUT_PATH", default=""):
    FORMRECAP_HELD_OUT_SETS["hand_labelled"] = BASE_DIR / env.str("FORMRECAP_HELD_OUT_PATH")
