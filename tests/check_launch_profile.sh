#!/usr/bin/env bash
# PORTAQUANT_PROFILE=1 on recorded plans: for each device, `portaquant bench --model` on a tiny
# Llama fixture must print a replay summary whose launches all appear in the per-kernel table
# (calls add up to the launch count), with device time > 0 and not above the wall time.
#   tests/check_launch_profile.sh PORTAQUANT_CLI FIXTURE_DIR [DEVICE...]   (default: every GPU-API device)
set -euo pipefail
cli=$1 model=$2
shift 2
devices=("$@")
if [ ${#devices[@]} -eq 0 ]; then
  mapfile -t devices < <("$cli" devices | sed -nE 's/^((opencl|vulkan):[0-9]+): .*/\1/p')
fi
if [ ${#devices[@]} -eq 0 ]; then echo "check_launch_profile: no OpenCL or Vulkan device"; exit 1; fi
for device in "${devices[@]}"; do
  log=$(PORTAQUANT_PROFILE=1 "$cli" bench --model "$model" --device "$device" -p 5 -n 3 -r 1 2>&1 >/dev/null)
  summary=$(grep "^portaquant profile, $device:.*replays of recorded plans" <<<"$log" || true)
  if [ -z "$summary" ]; then echo "check_launch_profile: $device: no replay summary"; exit 1; fi
  read -r launches wall on_device < <(sed -E 's/.*, ([0-9]+) launches: ([0-9.]+) ms wall, ([0-9.]+) ms of it.*/\1 \2 \3/' <<<"$summary")
  # The table after the summary: rows of 5 fields up to the next line that is not one.
  calls=$(sed -n "/^portaquant profile, $device:.*replays/,\$p" <<<"$log" | tail -n +3 |
          awk 'NF != 5 || $1 == "portaquant" { exit } { sum += $2 } END { print sum + 0 }')
  if [ "$calls" != "$launches" ]; then echo "check_launch_profile: $device: table has $calls calls, summary $launches launches"; exit 1; fi
  if ! awk -v d="$on_device" -v w="$wall" 'BEGIN { exit !(d > 0 && d <= w * 1.05) }'; then
    echo "check_launch_profile: $device: device $on_device ms vs wall $wall ms"; exit 1
  fi
  echo "check_launch_profile: $device: $launches launches timed, $on_device of $wall ms"
done
echo "launch profile: every device timed its recorded plans"
