"""Where a fine-tuning run executes: in this process, or on a Modal GPU, behind one small interface.

    runner = get_runner("modal")  # or "local"
    payload = {"run_id": 7, "dataset_path": DIR, "config": config.as_dict(), "output_dir": RUN_DIR}
    started = runner.start(payload)  # StartResult(external_id, done, result)
    polled = runner.poll(started.external_id)  # PollResult(done, result, error), from a later task

``DIR`` holds ``train.jsonl`` and ``validation.jsonl`` (chat records; other columns are dropped).
A finished run's result is ``{"run_id", "adapter_dir", "manifest", "location", ...}`` with the
adapter in ``RUN_DIR/adapter`` on this machine, ready for the local PEFT read-out.

The local runner trains inside ``start()``. The Modal runner uploads the two split files to the
``formrecap-artifacts`` volume and spawns ``train`` in the deployed app
(``modal deploy -m training.modal_app``), so no worker waits for hours; ``poll`` downloads the
finished adapter. Without credentials it refuses before any network call, and every remote
call runs under a short timeout: with a token but no network the Modal client would otherwise
wait about a minute.

``modal`` and the ML stack are imported only inside the functions that need them, so the web
app can import this module with the web requirements alone.
"""

import hashlib
import json
import os
import threading
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .config import AdapterTrainingConfig

# The contract between this runner and training/modal_app.py (which imports these names).
MODAL_APP_NAME = "formrecap-training"
MODAL_TRAIN_FUNCTION = "train"
MODAL_VOLUME_NAME = "formrecap-artifacts"
VOLUME_MOUNT = PurePosixPath("/artifacts")

CREDENTIALS_MISSING = "Modal credentials missing: set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (or run `modal token new`)"
DEFAULT_MODAL_TIMEOUT_S = 15.0
# Bringing an adapter back (tens of MB for a 2-7B base) takes longer than a control call.
DEFAULT_MODAL_DOWNLOAD_TIMEOUT_S = 120.0
# A local base-model folder (the tiny model) is uploaded with the run; anything bigger belongs on the volume.
MAX_LOCAL_BASE_BYTES = 50 * 1024 * 1024
# test too: the GPU function reads out the test split for the figures beside calibration (validation)
SPLITS = ("train", "validation", "test")
RESULT_MANIFEST = "training_manifest.json"


class RunnerError(RuntimeError):
    """A run could not be started or followed; the message says why."""


class RunnerUnavailable(RunnerError):
    """The runner cannot be reached now (no credentials, no network, app not deployed): nothing was started."""


@dataclass
class StartResult:
    external_id: str  # Modal function-call id, or the local output folder
    done: bool
    result: dict | None = None


@dataclass
class PollResult:
    done: bool
    result: dict | None = None
    error: str | None = None


def check_run_id(run_id: int | str) -> str:
    run_id = str(run_id)
    if not run_id or not all(ch.isalnum() or ch in "-_." for ch in run_id) or run_id.strip(".") == "":
        raise RunnerError(f"run id {run_id!r} must be letters, digits, '-', '_' or '.' (it names a folder)")
    return run_id


def build_run_payload(
    *, run_id: int | str, config: AdapterTrainingConfig, dataset_path: str | Path, output_dir: str | Path
) -> dict:
    """The JSON-able description of one run that every runner accepts."""
    return {
        "run_id": check_run_id(run_id),
        "dataset_path": str(dataset_path),
        "config": config.as_dict(),
        "output_dir": str(output_dir),
    }


def read_sft_split(dataset_path: str | Path, split: str) -> list[dict]:
    """The chat records of one split for training; bookkeeping columns (label, trace, source) are dropped, TRL must
    not see them. Free of Django (unlike lora.dataset.read_split) because it also runs inside the Modal image."""
    with (Path(dataset_path) / f"{split}.jsonl").open() as handle:
        return [{"messages": json.loads(line)["messages"]} for line in handle if line.strip()]


# --- local -----------------------------------------------------------------------------------


class LocalRunner:
    """Fine-tunes in this process (CPU, or the local GPU); the run is finished when ``start`` returns."""

    name = "local"

    def start(self, payload: dict) -> StartResult:
        from .train import fine_tune  # the ML stack, only when a run actually happens here

        config = AdapterTrainingConfig(**payload["config"])
        output_dir = Path(payload["output_dir"])
        train = read_sft_split(payload["dataset_path"], "train")
        validation = read_sft_split(payload["dataset_path"], "validation")
        finished = fine_tune(config, train=train, validation=validation, output_dir=output_dir)
        result = {
            "run_id": str(payload["run_id"]),
            "adapter_dir": str(finished.adapter_dir),
            "manifest": finished.manifest,
            "location": "local",
        }
        return StartResult(external_id=str(output_dir), done=True, result=result)

    def poll(self, external_id: str) -> PollResult:
        # A redelivered task may poll a local run: its finished adapter is on disk with the manifest.
        adapter_dir = Path(external_id) / "adapter"
        manifest = adapter_dir / RESULT_MANIFEST
        if not manifest.exists():
            return PollResult(done=True, error=f"no finished local run in {external_id} (local runs finish inside start())")
        result = {"adapter_dir": str(adapter_dir), "manifest": json.loads(manifest.read_text()), "location": "local"}
        return PollResult(done=True, result=result)

    def fetch_adapter(self, result: dict, dest_dir: str | Path) -> Path:
        return Path(result["adapter_dir"])


# --- Modal -----------------------------------------------------------------------------------


def modal_credentials_configured() -> bool:
    """Whether the Modal client would find a token: environment first, then the active profile of ~/.modal.toml."""
    token_id, token_secret = os.environ.get("MODAL_TOKEN_ID"), os.environ.get("MODAL_TOKEN_SECRET")
    if token_id and token_secret:
        return True
    path = Path(os.environ.get("MODAL_CONFIG_PATH") or Path.home() / ".modal.toml")
    try:
        profiles = {name: values for name, values in tomllib.loads(path.read_text()).items() if isinstance(values, dict)}
    except OSError:
        return False
    except tomllib.TOMLDecodeError as exc:
        raise RunnerUnavailable(f"Modal configuration {path} is not valid TOML ({exc}); run `modal token new`") from exc
    # Same choice as the Modal client: MODAL_PROFILE, else the profile marked active, else "default".
    active = os.environ.get("MODAL_PROFILE") or next((name for name, v in profiles.items() if v.get("active")), "default")
    profile = profiles.get(active, {})
    return bool((token_id or profile.get("token_id")) and (token_secret or profile.get("token_secret")))


def call_with_timeout(
    fn: Callable[..., Any], *args: Any, timeout_s: float, what: str, setting: str = "FORMRECAP_MODAL_TIMEOUT_S"
) -> Any:
    """``fn(*args)`` in a daemon thread; RunnerUnavailable if it has not returned after ``timeout_s``.

    The abandoned thread finishes (or hangs) on its own without holding up shutdown. Exceptions
    from ``fn`` are re-raised unchanged, TimeoutError included, so callers can tell them apart.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"modal: {what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise RunnerUnavailable(
            f"Modal did not answer within {timeout_s:g} s while {what}; check the network (or raise {setting})"
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _seconds(value: float | None, variable: str, default: float) -> float:
    return float(value) if value is not None else float(os.environ.get(variable, default))


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _volume_relative(path: str) -> str:
    """A path on the artifacts volume, relative to its root ("/artifacts/x" and "x" both give "x")."""
    pure = PurePosixPath(path)
    if pure.is_absolute():
        try:
            pure = pure.relative_to(VOLUME_MOUNT)
        except ValueError:
            raise RunnerError(
                f"{path} is not on the Modal volume: with FORMRECAP_MODAL_DATASET_ON_VOLUME the dataset path "
                f"must be relative to the volume root or start with {VOLUME_MOUNT}/"
            ) from None
    if ".." in pure.parts or not pure.parts:
        raise RunnerError(f"{path!r} is not a file path inside the Modal volume")
    return str(pure)


def _content_digest(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def modal_payload(payload: dict, *, dataset_on_volume: bool) -> tuple[dict, dict[str, str]]:
    """(the payload as the Modal ``train`` function sees it, {volume path: local file to upload}).

    The split files go to ``datasets/<content hash>/`` so a retried start uploads to the same place;
    a local base-model folder goes to ``bases/<content hash>/`` and the config points there. The
    local output folder travels along and comes back with the result, for ``poll`` to download into.
    """
    remote = json.loads(json.dumps(payload))  # a deep copy, and proof that the payload is JSON-able
    run_id = remote["run_id"] = check_run_id(payload["run_id"])
    uploads: dict[str, str] = {}
    if dataset_on_volume:
        remote["dataset_path"] = _volume_relative(payload["dataset_path"])
    else:
        files = [(f"{split}.jsonl", Path(payload["dataset_path"]) / f"{split}.jsonl") for split in SPLITS]
        missing = [str(path) for _, path in files if not path.is_file()]
        if missing:
            raise RunnerError(f"dataset file(s) not found: {', '.join(missing)}")
        remote["dataset_path"] = folder = f"datasets/{_content_digest(files)}"
        for name, path in files:
            uploads[f"/{folder}/{name}"] = str(path)

    base = Path(payload["config"]["base_model"])
    if base.is_dir():
        base_files = sorted((str(f.relative_to(base)), f) for f in base.rglob("*") if f.is_file())
        size = sum(f.stat().st_size for _, f in base_files)
        if size > MAX_LOCAL_BASE_BYTES:
            raise RunnerError(
                f"the base model {base} is a local folder of {size / 2**20:.0f} MB; put it on the volume "
                f"(`modal volume put {MODAL_VOLUME_NAME} {base} bases/NAME`) and pass {VOLUME_MOUNT}/bases/NAME"
            )
        folder = f"bases/{_content_digest(base_files)}"
        for name, path in base_files:
            uploads[f"/{folder}/{name}"] = str(path)
        remote["config"]["base_model"] = f"{VOLUME_MOUNT}/{folder}"
    remote["output_dir"] = f"adapters/{run_id}"
    remote["local_output_dir"] = str(payload["output_dir"])
    return remote, uploads


# The only functions that talk to Modal. Each is one client call, so tests replace them and
# exercise everything else.


def _modal_upload(uploads: dict[str, str]) -> None:
    import modal

    volume = modal.Volume.from_name(MODAL_VOLUME_NAME, create_if_missing=True)
    with volume.batch_upload(force=True) as batch:
        for remote_path, local_path in uploads.items():
            batch.put_file(local_path, remote_path)


def _modal_spawn(payload: dict) -> str:
    import modal

    return modal.Function.from_name(MODAL_APP_NAME, MODAL_TRAIN_FUNCTION).spawn(payload).object_id


def _modal_result(call_id: str) -> dict:
    import modal

    return modal.FunctionCall.from_id(call_id).get(timeout=0)


def _modal_download(volume_dir: str, dest_dir: str) -> list[str]:
    import modal

    volume = modal.Volume.from_name(MODAL_VOLUME_NAME)
    written = []
    for entry in volume.listdir(volume_dir, recursive=True):
        if entry.type == modal.volume.FileEntryType.FILE:
            target = Path(dest_dir) / PurePosixPath(entry.path.lstrip("/")).relative_to(volume_dir.strip("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as handle:
                volume.read_file_into_fileobj(entry.path, handle)
            written.append(str(target))
    return written


def _unavailable_cause(exc: BaseException) -> str | None:
    """Why Modal cannot be used now, for the client errors that mean exactly that."""
    import modal.exception

    if isinstance(exc, modal.exception.AuthError):
        return "Modal rejected the credentials (check MODAL_TOKEN_ID / MODAL_TOKEN_SECRET)"
    if isinstance(exc, modal.exception.ConnectionError):
        return "Modal could not be reached"
    if isinstance(exc, modal.exception.NotFoundError):
        return f"the Modal app {MODAL_APP_NAME!r} or its volume was not found (deploy it: `modal deploy -m training.modal_app`)"
    return None


class ModalRunner:
    """Spawns the ``train`` function of the deployed Modal app and follows it by function-call id."""

    name = "modal"

    def __init__(
        self, *, timeout_s: float | None = None, download_timeout_s: float | None = None, dataset_on_volume: bool | None = None
    ) -> None:
        self.timeout_s = _seconds(timeout_s, "FORMRECAP_MODAL_TIMEOUT_S", DEFAULT_MODAL_TIMEOUT_S)
        self.download_timeout_s = _seconds(
            download_timeout_s, "FORMRECAP_MODAL_DOWNLOAD_TIMEOUT_S", DEFAULT_MODAL_DOWNLOAD_TIMEOUT_S
        )
        self.dataset_on_volume = (
            _env_flag("FORMRECAP_MODAL_DATASET_ON_VOLUME") if dataset_on_volume is None else dataset_on_volume
        )

    def check_credentials(self) -> None:
        if not modal_credentials_configured():
            raise RunnerUnavailable(CREDENTIALS_MISSING)

    def _remote(self, fn: Callable[..., Any], *args: Any, what: str, download: bool = False) -> Any:
        timeout_s, setting = (
            (self.download_timeout_s, "FORMRECAP_MODAL_DOWNLOAD_TIMEOUT_S")
            if download
            else (self.timeout_s, "FORMRECAP_MODAL_TIMEOUT_S")
        )
        try:
            return call_with_timeout(fn, *args, timeout_s=timeout_s, what=what, setting=setting)
        except (RunnerError, TimeoutError):
            raise
        except Exception as exc:
            cause = _unavailable_cause(exc)
            if cause:
                raise RunnerUnavailable(f"{cause} while {what}: {exc}") from exc
            raise

    def start(self, payload: dict) -> StartResult:
        """Upload what the run needs to the volume, then spawn ``train``; returns at once with the call id."""
        self.check_credentials()
        remote_payload, uploads = modal_payload(payload, dataset_on_volume=self.dataset_on_volume)
        try:
            if uploads:
                self._remote(_modal_upload, uploads, what=f"uploading {len(uploads)} file(s) to the volume {MODAL_VOLUME_NAME!r}")
            call_id = self._remote(_modal_spawn, remote_payload, what=f"spawning {MODAL_APP_NAME}.{MODAL_TRAIN_FUNCTION}")
        except RunnerError:
            raise
        except Exception as exc:
            raise RunnerError(f"Modal could not start the run: {type(exc).__name__}: {exc}") from exc
        return StartResult(external_id=call_id, done=False)

    def poll(self, external_id: str) -> PollResult:
        """Still running, finished with its result, or failed with the cause; RunnerUnavailable if Modal cannot answer now."""
        self.check_credentials()
        try:
            result = self._remote(_modal_result, external_id, what=f"asking for the result of {external_id}")
        except RunnerUnavailable:
            raise  # transient: the run itself may be fine, poll again later
        except TimeoutError:
            # get(timeout=0) raises the builtin TimeoutError while the call runs. Modal's own
            # FunctionTimeoutError / OutputExpiredError are not builtin TimeoutErrors: they are failures.
            return PollResult(done=False)
        except Exception as exc:
            # Modal re-raises the remote exception with the container's frames: keep them, cause last.
            return PollResult(done=True, error="".join(traceback.format_exception(exc)).rstrip())
        result = {**result, "location": "modal", "volume_adapter_dir": result["adapter_dir"]}
        if not result.get("local_output_dir"):
            return PollResult(done=True, result=result)
        # The adapter comes home for calibration; a failed download raises (the run is fine, poll again).
        local_adapter = self.fetch_adapter(result, Path(result["local_output_dir"]) / "adapter")
        return PollResult(done=True, result={**result, "adapter_dir": str(local_adapter)})

    def fetch_adapter(self, result: dict, dest_dir: str | Path) -> Path:
        """Download the finished adapter (``result["adapter_path"]`` on the volume) into ``dest_dir``."""
        self.check_credentials()
        dest_dir = Path(dest_dir)
        dest_dir.mkdir(parents=True, exist_ok=True)
        written = self._remote(
            _modal_download,
            result["adapter_path"],
            str(dest_dir),
            what=f"downloading {result['adapter_path']}",
            download=True,
        )
        if not written:
            raise RunnerError(f"the volume {MODAL_VOLUME_NAME!r} has no files under {result['adapter_path']}")
        return dest_dir


RUNNERS: dict[str, type] = {"local": LocalRunner, "modal": ModalRunner}


def get_runner(name: str, **options: Any) -> LocalRunner | ModalRunner:
    if name not in RUNNERS:
        raise RunnerError(f"unknown runner {name!r}; choose one of {', '.join(RUNNERS)}")
    return RUNNERS[name](**options)
