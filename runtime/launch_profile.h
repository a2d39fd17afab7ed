// PORTAQUANT_PROFILE=1: every eager kernel launch is waited for and timed, and at exit stderr
// gets the time per kernel (calls, total and mean milliseconds, the share of all launches).
// Recorded plans replay untimed. A tool for finding where a model's time goes, not a benchmark:
// waiting after each launch adds the device's round-trip latency to every one.
#pragma once

#include <chrono>
#include <string>

namespace pq::rt {

bool launch_profiling();  // PORTAQUANT_PROFILE is set

// Adds one launch of `kernel` that took `seconds`, waited for.
void record_launch_time(const std::string& kernel, double seconds);

}  // namespace pq::rt
