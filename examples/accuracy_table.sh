#!/usr/bin/env bash
# The README's accuracy table: the digits MLP and CNN (examples/models), float and quantized,
# evaluated on the 360 held-out images on the CPU reference and every OpenCL/Vulkan device.
#   examples/accuracy_table.sh [PORTAQUANT_BINARY]      (make accuracy)
set -euo pipefail
cd "$(dirname "$0")/.."
pq=${1:-build/cli/portaquant}
data=examples/data/digits_test.safetensors
calibration=examples/data/digits_calibration.safetensors
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

devices=(cpu)
for d in $("$pq" devices | sed -n 's/^\(opencl:[0-9]*\|vulkan:[0-9]*\): .*/\1/p'); do devices+=("$d"); done

# name | --weights | --activations
configs=(
  "float|-|none"
  "W8 (qint8)|int8|none"
  "W4 (qint4)|int4|none"
  "W2 (qint2)|int2|none"
  "W-float8 (e4m3fn)|float8|none"
  "W8A8 int8|int8|int8"
  "W8A8 float8|float8|float8"
  "W4A8 (int4 weights, int8 activations)|int4|int8"
)

header="| model | config |"
rule="|---|---|"
for d in "${devices[@]}"; do header+=" $d |"; rule+="---:|"; done
echo "$header"
echo "$rule"
for model in mlp cnn; do
  for config in "${configs[@]}"; do
    IFS='|' read -r name weights activations <<< "$config"
    dir=examples/models/digits_$model
    if [ "$weights" != "-" ]; then
      dir=$work/${model}_${weights}_${activations}
      args=(--weights "$weights" --activations "$activations")
      if [ "$activations" != "none" ]; then args+=(--calibration "$calibration"); fi
      "$pq" quantize "examples/models/digits_$model" -o "$dir" "${args[@]}" 2> "$work/quantize.log" \
        || { cat "$work/quantize.log" >&2; exit 1; }
    fi
    row="| digits_$model | $name |"
    for d in "${devices[@]}"; do
      accuracy=$("$pq" eval "$dir" --data "$data" --device "$d" 2>/dev/null | sed -n 's/^accuracy: \([0-9.]*%\).*/\1/p')
      row+=" ${accuracy:-error} |"
    done
    echo "$row"
  done
done
