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
