// `portaquant generate MODEL_DIR --prompt TEXT`: streams generated text, then the speed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

#include "runtime/device.h"

namespace pq::cli {

struct GenerateArgs {
  std::filesystem::path model_dir;
  std::string prompt;
  int64_t max_new_tokens = 64;
  float temperature = 0.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
  int64_t max_context = 0;
  bool show_ids = false;
  std::string device = pq::rt::default_device_spec();
};

void run_generate(const GenerateArgs& args, std::ostream& out);

}  // namespace pq::cli
