// The arithmetic of optimum-quanto's Calibration: per-tensor absmax scales and their EMA, in
// the activations' dtype, as torch computes them. Running the model and deciding when to apply
// them is the runtime's (runtime/model).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "host/nn/module.h"

namespace pq::nn {

// What calibration does with output quantization (quanto's `streamline`).
enum class Streamline {
  // optimum-quanto 0.2.7 with torch >= 2.5, the default: its consumer tracking never matches,
  // so when a parent module's forward ends for the first time, every quantized child stops
  // quantizing its output for the rest of calibration. A model reloaded from the saved files
  // quantizes every output again: the scales were calibrated in another regime than the one
  // the files describe. Reproduced so that our scales are quanto's.
  Quanto,
  // Streamline as quanto designed it: a module keeps output quantization only when a consumer
  // keeps the quantized tensor (Linear, int8 ReLU, Flatten; nn.Sequential models).
  AsDesigned,
  // Every output stays quantized during calibration: the scales see exactly the regime of the
  // saved (reloaded) model.
  Off,
};

std::string_view streamline_name(Streamline s);
Streamline parse_streamline(std::string_view name);  // "quanto", "designed", "off"; throws listing them

struct CalibrationOptions {
  // EMA momentum for output scales (quanto's Calibration(momentum=...)): a double, as the
  // python float it stands for, since 1 - momentum is computed in double before torch rounds it.
  double momentum = 0.9;
  // quanto ignores Calibration's momentum for input scales and always uses 0.9 (its
  // calibrate_input hook has its own default argument); false applies `momentum` to inputs too.
  bool quanto_input_momentum = true;
  Streamline streamline = Streamline::Quanto;
  // Called after each calibration sample (or batch) with the count done and the total.
  std::function<void(size_t done, size_t total)> on_sample;
};

// absmax(|x|) / qmax rounded to `dtype`, as quanto's absmax_scale(x, qtype, axis=None) on a
// tensor of that dtype (the division runs in float32 and is rounded once).
float absmax_activation_scale(const std::vector<float>& values, QType qtype, DType dtype = DType::F32);

// quanto's _updated_scale on 0-dim tensors of `dtype`: the fresh scale replaces the 1.0
// sentinel, else momentum·scale + fresh·(1 − momentum) with python-float constants (float32
// momentum and float32 of the double 1 − momentum: 0.9f and 0.1f for 0.9), each torch op
// computed in float32 and rounded to `dtype`.
float updated_scale(float scale, float fresh, double momentum, DType dtype = DType::F32);

// Modules whose activations are quantized with scales still at 1.0.
std::vector<std::string> uncalibrated_modules(const Module& root);
// "activations of <module> were never calibrated: scales are still 1.0", one per module.
std::vector<std::string> calibration_warnings(const Module& root);

}  // namespace pq::nn
