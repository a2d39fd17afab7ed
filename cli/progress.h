// Progress of long work on stderr. Each step is announced before it starts (a line of its own,
// so a long step is never silent); within a step, items (modules, samples, tensors) and bytes
// done show as a redrawn bar with the rate and the time left on a terminal, and as a plain line
// every few seconds otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace pq::cli {

class Progress {
 public:
  explicit Progress(std::string what);
  ~Progress();
  // Step `index` of `count` starts; count 0 for work without numbered steps.
  void step(size_t index, size_t count, const std::string& message);
  // `done` of `total` items of the current step; bytes when the step knows them (rate and ETA
  // then go by bytes).
  void update(size_t done, size_t total, const std::string& item, uint64_t bytes_done = 0, uint64_t bytes_total = 0);
  // Ends a bar that is being redrawn.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_;
  bool terminal_;
  bool drawn_ = false;
  Clock::time_point step_start_;
  Clock::time_point last_line_;
};

// 1536 -> "1.5 KiB"; 3.2e9 -> "3.0 GiB".
std::string human_bytes(double bytes);
// Seconds as "42s", "3m07s", "1h02m".
std::string human_duration(double seconds);

}  // namespace pq::cli
