// PORTAQUANT_PROFILE=1: where a model's time goes, printed to stderr at exit.
// - Eager launches are each waited for and timed on the host (calls, total and mean
//   milliseconds, share): waiting adds the device's round-trip latency to every launch.
// - Recorded plans (what a decoder replays per token) replay as usual, without waits between
//   their launches, and each launch is timed on the device (OpenCL event profiling, Vulkan
//   timestamps); per replay, its host wall time is set against the launches' device time, and
//   the difference is what launching, scheduling and synchronising cost.
// A tool for finding bottlenecks, not a benchmark.
#pragma once

#include <chrono>
#include <string>

namespace pq::rt {

bool launch_profiling();  // PORTAQUANT_PROFILE is set

// `device` is its id ("opencl:0"): each device gets its own rows.

// Adds one eager launch of `kernel` that took `seconds`, waited for.
void record_launch_time(const std::string& device, const std::string& kernel, double seconds);

// Adds one launch of `kernel` inside a recorded plan that ran `seconds` on the device.
void record_plan_launch_time(const std::string& device, const std::string& kernel, double seconds);

// Adds one replay of a recorded plan of `launches` launches: `wall_seconds` from the host's
// call to the device finishing it, `device_seconds` the sum of its launches' device times.
void record_plan_replay(const std::string& device, size_t launches, double wall_seconds, double device_seconds);

}  // namespace pq::rt
