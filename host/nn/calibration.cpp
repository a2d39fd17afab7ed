#include "host/nn/calibration.h"

#include <cmath>

namespace pq::nn {

float absmax_activation_scale(const std::vector<float>& values, QType qtype) {
  float amax = 0.0f;
  for (float v : values) amax = std::max(amax, std::fabs(v));
  return amax / qtype_info(qtype).qmax;
}

float updated_scale(float scale, float fresh, float momentum) {
  if (scale == 1.0f) return fresh;
  const auto keep = static_cast<float>(static_cast<double>(momentum));
  const auto take = static_cast<float>(1.0 - static_cast<double>(momentum));
  return keep * scale + take * fresh;
}

std::vector<std::string> uncalibrated_modules(const Module& root) {
  std::vector<std::string> names;
  for (const auto& [name, module] : named_modules(root)) {
    const QuantState* q = module->quant();
    if (q && q->activations && q->input_scale == 1.0f && q->output_scale == 1.0f) names.push_back(name);
  }
  return names;
}

std::vector<std::string> calibration_warnings(const Module& root) {
  std::vector<std::string> lines;
  for (const auto& name : uncalibrated_modules(root)) {
    lines.push_back("activations of " + name + " were never calibrated: scales are still 1.0");
  }
  return lines;
}

}  // namespace pq::nn
