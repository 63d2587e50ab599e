"""FormRecap's own knobs: ingest limits and the demo tenant."""

from .env import BASE_DIR, env

FORMRECAP_INGEST_MAX_BODY_BYTES = env.int("FORMRECAP_INGEST_MAX_BODY_BYTES", default=64 * 1024)
# Every other JSON body (classify, batch, rules…): 1,000 traces of the largest size (8 KB) with room for JSON escapes.
# Django's own DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) still caps form-encoded bodies, which the API reads only for rules.
FORMRECAP_API_MAX_BODY_BYTES = env.int("FORMRECAP_API_MAX_BODY_BYTES", default=32 * 2**20)
FORMRECAP_INGEST_MAX_EVENTS_PER_BATCH = env.int("FORMRECAP_INGEST_MAX_EVENTS_PER_BATCH", default=500)
FORMRECAP_SESSION_MAX_BATCHES = env.int("FORMRECAP_SESSION_MAX_BATCHES", default=200)
FORMRECAP_SESSION_MAX_EVENTS = env.int("FORMRECAP_SESSION_MAX_EVENTS", default=10_000)
# A key's last_used_at is written at most this often, so authenticated reads stay reads.
FORMRECAP_API_KEY_TOUCH_SECONDS = env.int("FORMRECAP_API_KEY_TOUCH_SECONDS", default=60)

FORMRECAP_DEMO_ORIGIN = env("FORMRECAP_DEMO_ORIGIN", default="http://127.0.0.1:8000")
# The public origin visitors' pages load the snippet from (behind a proxy); empty: the admin request's own host.
FORMRECAP_PUBLIC_ORIGIN = env("FORMRECAP_PUBLIC_ORIGIN", default="")
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

# Cloudflare Workers AI (the `cloudflare` backend and `publish_cloudflare_adapter`). No credentials: the backend
# answers "unavailable" and publishing refuses before any request.
FORMRECAP_CLOUDFLARE_ACCOUNT_ID = env("FORMRECAP_CLOUDFLARE_ACCOUNT_ID", default="")
FORMRECAP_CLOUDFLARE_API_TOKEN = env("FORMRECAP_CLOUDFLARE_API_TOKEN", default="")
FORMRECAP_CLOUDFLARE_BASE_URL = env("FORMRECAP_CLOUDFLARE_BASE_URL", default="https://api.cloudflare.com/client/v4")
# The Workers AI model a request runs; empty: the one the adapter was published for (recorded on its model version).
FORMRECAP_CLOUDFLARE_MODEL = env("FORMRECAP_CLOUDFLARE_MODEL", default="")
FORMRECAP_CLOUDFLARE_TIMEOUT_SECONDS = env.float("FORMRECAP_CLOUDFLARE_TIMEOUT_SECONDS", default=30.0)
# Attempts per request, the first included; 429 and 5xx are retried (honouring Retry-After up to the cap).
FORMRECAP_CLOUDFLARE_MAX_ATTEMPTS = env.int("FORMRECAP_CLOUDFLARE_MAX_ATTEMPTS", default=3)
FORMRECAP_CLOUDFLARE_MAX_RETRY_AFTER_SECONDS = env.float("FORMRECAP_CLOUDFLARE_MAX_RETRY_AFTER_SECONDS", default=30.0)
# Requests in flight at once (Workers AI has no batch endpoint for text generation: one request per trace).
FORMRECAP_CLOUDFLARE_CONCURRENCY = env.int("FORMRECAP_CLOUDFLARE_CONCURRENCY", default=4)
# Bases Cloudflare accepts LoRA adapters for, HuggingFace id -> Workers AI model. Its documented list has changed
# (older docs: these four, rank <= 8, < 100 MB; newer: larger bases such as google/gemma-3-12b-it=@cf/google/gemma-3-12b-it
# and mistralai/Mistral-Small-3.1-24B-Instruct-2503=@cf/mistralai/mistral-small-3.1-24b-instruct), so it is a setting.
# Env: "google/gemma-2b-it=@cf/google/gemma-2b-it-lora,...".
FORMRECAP_CLOUDFLARE_BASE_MODELS = env.dict(
    "FORMRECAP_CLOUDFLARE_BASE_MODELS",
    default={
        "mistralai/Mistral-7B-Instruct-v0.2": "@cf/mistral/mistral-7b-instruct-v0.2-lora",
        "google/gemma-2b-it": "@cf/google/gemma-2b-it-lora",
        "google/gemma-7b-it": "@cf/google/gemma-7b-it-lora",
        "meta-llama/Llama-2-7b-chat-hf": "@cf/meta-llama/llama-2-7b-chat-hf-lora",
    },
)

# Zero-shot baselines. `claude`: the Anthropic Messages API (ANTHROPIC_API_KEY), strict JSON, no adapter.
FORMRECAP_CLAUDE_BASELINE_MODEL = env("FORMRECAP_CLAUDE_BASELINE_MODEL", default="claude-haiku-4-5")
FORMRECAP_CLAUDE_BASELINE_TIMEOUT_SECONDS = env.float("FORMRECAP_CLAUDE_BASELINE_TIMEOUT_SECONDS", default=30.0)
FORMRECAP_CLAUDE_BASELINE_MAX_RETRIES = env.int("FORMRECAP_CLAUDE_BASELINE_MAX_RETRIES", default=2)
FORMRECAP_CLAUDE_BASELINE_CONCURRENCY = env.int("FORMRECAP_CLAUDE_BASELINE_CONCURRENCY", default=4)
# `zero_shot`: a local base model (folder or hub id) read out by first-token digits with no adapter; with
# --model-version, that adapter's own base instead.
FORMRECAP_ZERO_SHOT_BASE_MODEL = env("FORMRECAP_ZERO_SHOT_BASE_MODEL", default="")

# The `vllm` backend: the OpenAI-compatible vLLM server training/modal_app.py deploys (`serve`), base + LoRA adapters.
# Base URL of the server (Modal web endpoint, with or without /v1); empty: the backend answers "unavailable".
FORMRECAP_VLLM_BASE_URL = env("FORMRECAP_VLLM_BASE_URL", default="")
# Where the server finds adapters to load at runtime (the Modal volume's mount); empty: the model version's folder.
FORMRECAP_VLLM_ADAPTER_ROOT = env("FORMRECAP_VLLM_ADAPTER_ROOT", default="")
# Modal proxy auth (the endpoint has requires_proxy_auth): a proxy auth token's id and secret, sent as
# Modal-Key / Modal-Secret headers. Empty: no headers (a server of your own, or the tests' local one).
FORMRECAP_VLLM_MODAL_KEY = env("FORMRECAP_VLLM_MODAL_KEY", default="")
FORMRECAP_VLLM_MODAL_SECRET = env("FORMRECAP_VLLM_MODAL_SECRET", default="")
# Per request; a cold Modal container takes minutes to start, and the retries below cover the first calls.
FORMRECAP_VLLM_TIMEOUT_SECONDS = env.float("FORMRECAP_VLLM_TIMEOUT_SECONDS", default=30.0)
# Retries after the first attempt on connection errors, timeouts, 429 and 5xx; the wait doubles from BACKOFF.
FORMRECAP_VLLM_RETRIES = env.int("FORMRECAP_VLLM_RETRIES", default=2)
FORMRECAP_VLLM_BACKOFF_SECONDS = env.float("FORMRECAP_VLLM_BACKOFF_SECONDS", default=1.0)
# Circuit breaker: after this many failed requests in a row, fail fast for the cool-down, then try one request.
FORMRECAP_VLLM_BREAKER_FAILURES = env.int("FORMRECAP_VLLM_BREAKER_FAILURES", default=5)
FORMRECAP_VLLM_BREAKER_COOLDOWN_SECONDS = env.float("FORMRECAP_VLLM_BREAKER_COOLDOWN_SECONDS", default=30.0)
# Prompts per /v1/completions request (the endpoint takes a list).
FORMRECAP_VLLM_BATCH_SIZE = env.int("FORMRECAP_VLLM_BATCH_SIZE", default=32)
# Restrict the answer to the six digit tokens (allowed_token_ids). Only a server started with
# --logprobs-mode processed_logprobs then returns log-probs over the digits alone; any other returns vocabulary-wide
# top-N, which the backend renormalises over the digits found (STACK.md). TOP_LOGPROBS must not exceed the server's
# --max-logprobs (training/modal_app.py starts it with 20).
FORMRECAP_VLLM_RESTRICT_TO_DIGITS = env.bool("FORMRECAP_VLLM_RESTRICT_TO_DIGITS", default=True)
FORMRECAP_VLLM_TOP_LOGPROBS = env.int("FORMRECAP_VLLM_TOP_LOGPROBS", default=20)
