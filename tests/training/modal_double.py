"""Modal's side of the Modal runner, for tests: no Modal account or GPU can be reached here.

Only the four functions of training.lora.runners that talk to Modal are replaced; the runner itself
(credentials check, payload, uploads, timeouts, result handling, adapter download) runs for real.
The spawned "call" stays running for a few polls, then returns what training/modal_app.py's
``run_training`` returns, and its adapter is one a real (tiny, local) training run produced.
How each run behaves is scripted by the test in a JSON file, by run id (``script_run``), never in the run's
stored config::

    {"running_polls": 2}       # two polls see it running, the third finds it finished
    {"unreachable_polls": 99}  # Modal cannot be reached while polling
    {"error": "CUDA out of memory"}  # the remote function raised

A Celery worker process runs with the double installed via ``python -m tests.training.modal_double``.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import modal.exception

from training.lora import runners
from training.modal_app import remote_readout

BOUNDARY = ("upload", "spawn", "result", "download")


def script_run(scripts: Path, run_id: int | str, **script) -> None:
    """How the double answers for run ``run_id`` (read from ``scripts`` at every call, so a worker sees it too)."""
    known = json.loads(scripts.read_text()) if scripts.exists() else {}
    scripts.write_text(json.dumps({**known, str(run_id): script}))


class ModalDouble:
    def __init__(self, *, adapter_dir: Path, manifest: dict, scripts: Path, call_log: Path | None = None) -> None:
        self.adapter_dir = Path(adapter_dir)
        self.manifest = manifest
        self.scripts = scripts
        self.call_log = call_log
        self.calls: dict[str, list] = {name: [] for name in BOUNDARY}
        self.spawned: dict[str, dict] = {}  # call id → payload as the deployed app received it
        self.polls: dict[str, int] = {}

    def _record(self, name: str, *args) -> None:
        self.calls[name].append(args)
        if self.call_log is not None:
            with self.call_log.open("a") as handle:
                handle.write(json.dumps([name, *args], default=str) + "\n")

    def upload(self, uploads: dict[str, str]) -> None:
        missing = [path for path in uploads.values() if not Path(path).is_file()]
        assert not missing, f"uploading files that do not exist: {missing}"
        self._record("upload", uploads)

    def spawn(self, payload: dict) -> str:
        call_id = f"fc-test-{payload['run_id']}-{len(self.spawned) + 1}"
        self.spawned[call_id] = payload
        self._record("spawn", payload)
        return call_id

    def result(self, call_id: str) -> dict:
        self._record("result", call_id)
        payload = self.spawned[call_id]
        script = (json.loads(self.scripts.read_text()) if self.scripts.exists() else {}).get(str(payload["run_id"]), {})
        polls = self.polls[call_id] = self.polls.get(call_id, 0) + 1
        if polls <= script.get("unreachable_polls", 0):
            raise modal.exception.ConnectionError("no route to host")
        if polls <= script.get("unreachable_polls", 0) + script.get("running_polls", 0):
            raise TimeoutError()  # FunctionCall.get(timeout=0) while the call runs
        if script.get("error"):
            raise RuntimeError(script["error"])  # the remote exception, re-raised by the client
        return {
            "run_id": payload["run_id"],
            "adapter_path": payload["output_dir"],
            "adapter_dir": f"/artifacts/{payload['output_dir']}",
            "manifest": self.manifest,
            # what run_training reads out on the GPU after training, computed here by the same code on the adapter
            "readout": remote_readout(self.adapter_dir, None, self._uploaded(payload["dataset_path"]), payload["held_out"]),
            "local_output_dir": payload["local_output_dir"],
        }

    def _uploaded(self, volume_folder: str) -> Path:
        """The local folder whose files were uploaded to ``volume_folder`` on the volume."""
        for (uploads,) in self.calls["upload"]:
            for remote, local in uploads.items():
                if remote.startswith(f"/{volume_folder}/"):
                    return Path(local).parent
        raise AssertionError(f"nothing was uploaded to {volume_folder}")

    def download(self, volume_dir: str, dest_dir: str) -> list[str]:
        self._record("download", volume_dir, dest_dir)
        shutil.copytree(self.adapter_dir, dest_dir, dirs_exist_ok=True)
        return [str(path) for path in Path(dest_dir).rglob("*") if path.is_file()]

    def install(self, setattr_=setattr) -> "ModalDouble":
        """Put the double in place of the runner's Modal calls (pass ``monkeypatch.setattr`` in tests)."""
        for name in BOUNDARY:
            setattr_(runners, f"_modal_{name}", getattr(self, name))
        return self


def main(argv: list[str]) -> None:
    """A Celery worker with the double installed: ``python -m tests.training.modal_double -Q QUEUE ...``."""
    adapter_dir = Path(os.environ["FORMRECAP_TEST_ADAPTER"])
    manifest = json.loads((adapter_dir / runners.RESULT_MANIFEST).read_text())
    call_log = Path(os.environ["FORMRECAP_TEST_CALL_LOG"])
    scripts = Path(os.environ["FORMRECAP_TEST_MODAL_SCRIPTS"])
    ModalDouble(adapter_dir=adapter_dir, manifest=manifest, scripts=scripts, call_log=call_log).install()

    from formrecap.celery import app

    app.worker_main(["worker", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
