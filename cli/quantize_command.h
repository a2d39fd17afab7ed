// `portaquant quantize`: a float checkpoint in, an optimum-quanto model directory out.
#pragma once

#include "runtime/device.h"

#include <filesystem>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pq::cli {

struct QuantizeArgs {
  std::filesystem::path input;
  std::filesystem::path output;
  std::string weights = "int8";  // int2, int4, int8, float8, float8_e4m3fn, float8_e4m3fnuz, float8_e5m2
  std::optional<std::string> optimizer;
  std::optional<int> group_size;
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  int threads = 0;
  bool force = false;
  // Model directories (with config.json) only:
  std::string activations = "none";  // none, int8, float8 (or quanto's qtype names)
  std::optional<std::filesystem::path> calibration;  // nn.Sequential: safetensors with "images" (or one tensor)
  std::optional<std::filesystem::path> calibration_text;  // transformer models: text to calibrate on
  int64_t calibration_samples = 16;
  int64_t calibration_length = 128;
  double calibration_momentum = 0.9;
  std::string streamline = "quanto";
  std::string device = pq::rt::default_device_spec();        // where calibration runs
};

void run_quantize(const QuantizeArgs& args);

}  // namespace pq::cli
