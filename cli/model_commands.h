// Commands over nn model directories (config.json + weights): quantize with activations and
// calibration, run one input, evaluate accuracy.
#pragma once

#include "runtime/device.h"

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include "cli/quantize_command.h"

namespace pq::cli {

// True when `input` is a model directory with a config.json (the nn path of `quantize`).
bool is_model_dir(const std::filesystem::path& input);
// `portaquant quantize MODEL_DIR ...` through the module tree: weights, activations,
// calibration on --device, freeze, save_pretrained.
void run_model_quantize(const QuantizeArgs& args);

struct RunArgs {
  std::filesystem::path model_dir;
  std::filesystem::path input;
  std::filesystem::path output;
  std::string device = pq::rt::default_device_spec();
};
void run_model(const RunArgs& args, std::ostream& out);

struct EvalArgs {
  std::filesystem::path model_dir;
  std::filesystem::path data;
  std::string device = pq::rt::default_device_spec();
  int batch_size = 128;
};
void run_eval(const EvalArgs& args, std::ostream& out);

}  // namespace pq::cli
