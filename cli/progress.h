// Progress of long work: a redrawn bar on a terminal, plain lines otherwise (logs, CI).
#pragma once

#include <cstddef>
#include <string>

namespace pq::cli {

class Progress {
 public:
  explicit Progress(std::string what);
  void update(size_t done, size_t total, const std::string& item);
  void finish();

 private:
  std::string what_;
  bool terminal_;
  bool drawn_ = false;
};

}  // namespace pq::cli
