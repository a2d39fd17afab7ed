// The arithmetic of optimum-quanto's Calibration: per-tensor absmax scales and their EMA.
// Running the model and deciding when to apply them is the runtime's (runtime/model).
#pragma once

#include <string>
#include <vector>

#include "host/nn/module.h"

namespace pq::nn {

struct CalibrationOptions {
  // EMA momentum for output scales (quanto's Calibration(momentum=...)).
  float momentum = 0.9f;
  // quanto ignores Calibration's momentum for input scales and always uses 0.9; we honour
  // `momentum` for inputs too unless this is set to quanto's behaviour.
  bool quanto_input_momentum = false;
  // Turn off output quantization of modules whose outputs no consumer keeps quantized.
  bool streamline = true;
};

// absmax(|x|) / qmax in float32, as quanto's absmax_scale(x, qtype, axis=None).
float absmax_activation_scale(const std::vector<float>& values, QType qtype);

// quanto's _updated_scale: the fresh scale replaces the 1.0 sentinel, else m·scale + (1−m)·fresh
// (float32 arithmetic, as torch does it on 0-dim float32 tensors).
float updated_scale(float scale, float fresh, float momentum);

// Modules whose activations are quantized with scales still at 1.0.
std::vector<std::string> uncalibrated_modules(const Module& root);
// "activations of <module> were never calibrated: scales are still 1.0", one per module.
std::vector<std::string> calibration_warnings(const Module& root);

}  // namespace pq::nn
