// `portaquant perplexity MODEL_DIR --text FILE`: llama.cpp's perplexity of a decoder on a text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

#include "runtime/device.h"

namespace pq::cli {

struct PerplexityArgs {
  std::filesystem::path model_dir;
  std::filesystem::path text;
  int64_t ctx = 512;
  int64_t max_windows = 0;
  std::string device = pq::rt::default_device_spec();
};

void run_perplexity(const PerplexityArgs& args, std::ostream& out);

}  // namespace pq::cli
