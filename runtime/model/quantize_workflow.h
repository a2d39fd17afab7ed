// The quantize workflow on a model directory, as optimum-quanto runs it: load → quantize the
// selected modules (Linear/Conv2d weights, activations of Linear/Conv2d/LayerNorm) →
// calibrate activation scales on a device → freeze → save_pretrained. One function for every
// architecture (nn.Sequential, decoders, encoders), reporting progress through a callback.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "host/nn/calibration.h"
#include "host/nn/pretrained.h"
#include "host/nn/quantize.h"

namespace pq::rt::model {

// What calibration runs on: image batches for nn.Sequential models, token sequences (one per
// forward) for transformer models.
struct CalibrationData {
  std::vector<Tensor> batches;
  std::vector<std::vector<int32_t>> token_samples;
  bool empty() const { return batches.empty() && token_samples.empty(); }
  size_t size() const { return batches.size() + token_samples.size(); }
};

// Each step is announced before it runs (starts_step, no items yet); then its items follow as
// they are done: modules frozen, calibration samples, bytes saved.
struct WorkflowProgress {
  size_t step, steps;      // the step running, 1-based, of how many
  std::string message;     // what it does: "calibrating 30 modules on 16 samples (vulkan:0)"
  bool starts_step = false;
  size_t done = 0, total = 0;  // items of the step (modules, samples); 0 of 0 when it counts bytes
  std::string item;            // the item just done (a module name)
  uint64_t bytes_done = 0, bytes_total = 0;  // saving
};

struct ModelQuantizeOptions {
  nn::QuantizeConfig quantize;
  CalibrationData calibration;  // required when activations are quantized
  nn::CalibrationOptions calibration_options;
  std::string device = "cpu";   // where calibration runs
  nn::SaveOptions save;
  std::function<void(const WorkflowProgress&)> on_progress;
};

struct ModelQuantizeResult {
  std::vector<std::string> quantized;  // module names
  std::vector<std::string> warnings;   // uncalibrated modules, unused config keys and tensors
  std::string device;                  // where calibration ran ("" without calibration)
};

// Calibrates a loaded, quantized (not yet frozen) model in place.
void calibrate_model(nn::Model& model, const CalibrationData& data, const nn::CalibrationOptions& options,
                     const std::string& device);

ModelQuantizeResult quantize_model(const std::filesystem::path& input, const std::filesystem::path& output,
                                   const ModelQuantizeOptions& options);

}  // namespace pq::rt::model
