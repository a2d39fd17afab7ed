#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "host/printable.h"

namespace pq::cli {
namespace {

constexpr double kSecondsBetweenLines = 5.0;  // without a terminal

std::string rate_and_eta(double seconds, double done, double total, bool bytes) {
  if (seconds < 0.5 || done <= 0) return "";
  const double rate = done / seconds;
  char per_second[32];
  std::snprintf(per_second, sizeof per_second, rate >= 10 ? "%.0f/s" : "%.1f/s", rate);
  std::string text = bytes ? human_bytes(rate) + "/s" : per_second;
  if (total > done) text += ", " + human_duration((total - done) / rate) + " left";
  return text;
}

}  // namespace

std::string human_bytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(units)) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::string human_duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s < 60) std::snprintf(text, sizeof text, "%lds", s);
  else if (s < 3600) std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  return text;
}

Progress::Progress(std::string what)
    : what_(std::move(what)), terminal_(isatty(fileno(stderr)) != 0), step_start_(Clock::now()), last_line_(step_start_) {}

Progress::~Progress() { finish(); }

void Progress::step(size_t index, size_t count, const std::string& message) {
  finish();
  const std::string counter = count ? " [" + std::to_string(index) + "/" + std::to_string(count) + "]" : "";
  std::fprintf(stderr, "%s%s %s\n", what_.c_str(), counter.c_str(), printable(message, 300).c_str());
  std::fflush(stderr);
  step_start_ = last_line_ = Clock::now();
}

void Progress::update(size_t done, size_t total, const std::string& item, uint64_t bytes_done, uint64_t bytes_total) {
  const Clock::time_point now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - step_start_).count();
  const bool by_bytes = bytes_total > 0;
  const std::string rate = by_bytes ? rate_and_eta(seconds, static_cast<double>(bytes_done), static_cast<double>(bytes_total), true)
                                    : rate_and_eta(seconds, static_cast<double>(done), static_cast<double>(total), false);
  std::string counts = total ? std::to_string(done) + "/" + std::to_string(total) : "";
  if (by_bytes) {
    counts += (counts.empty() ? "" : ", ") + human_bytes(static_cast<double>(bytes_done)) + " of " + human_bytes(static_cast<double>(bytes_total));
  }
  if (!rate.empty()) counts += ", " + rate;
  const std::string shown = printable(item, 60);
  if (!terminal_) {
    const bool last = by_bytes ? bytes_done >= bytes_total : done >= total;
    if (!last && std::chrono::duration<double>(now - last_line_).count() < kSecondsBetweenLines) return;
    last_line_ = now;
    std::fprintf(stderr, "%s %s %s\n", what_.c_str(), counts.c_str(), shown.c_str());
    return;
  }
  constexpr size_t kWidth = 24;
  const double fraction = by_bytes ? static_cast<double>(bytes_done) / static_cast<double>(bytes_total)
                                   : total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const auto filled = static_cast<size_t>(fraction * kWidth);
  std::string bar(std::min(filled, kWidth), '#');
  bar.append(kWidth - bar.size(), '.');
  std::fprintf(stderr, "\r\033[K%s [%s] %s %s", what_.c_str(), bar.c_str(), counts.c_str(), shown.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace pq::cli
