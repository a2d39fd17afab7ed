#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace pq::cli {

Progress::Progress(std::string what) : what_(std::move(what)), terminal_(isatty(fileno(stderr)) != 0) {}

void Progress::update(size_t done, size_t total, const std::string& item) {
  if (!terminal_) {
    std::fprintf(stderr, "%s %zu/%zu %s\n", what_.c_str(), done, total, item.c_str());
    return;
  }
  constexpr size_t kWidth = 30;
  const size_t filled = total ? done * kWidth / total : kWidth;
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  std::fprintf(stderr, "\r\033[K%s [%s] %zu/%zu %s", what_.c_str(), bar.c_str(), done, total, item.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace pq::cli
