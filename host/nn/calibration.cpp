#include "host/nn/calibration.h"

#include <cmath>
#include <stdexcept>

#include "host/float_format.h"

namespace pq::nn {
std::string_view streamline_name(Streamline s) {
  switch (s) {
    case Streamline::Quanto: return "quanto";
    case Streamline::AsDesigned: return "designed";
    case Streamline::Off: return "off";
  }
  return "quanto";
}

Streamline parse_streamline(std::string_view name) {
  for (Streamline s : {Streamline::Quanto, Streamline::AsDesigned, Streamline::Off}) {
    if (streamline_name(s) == name) return s;
  }
  throw std::invalid_argument("unknown streamline mode '" + std::string(name) + "' (quanto, designed, off)");
}

float absmax_activation_scale(const std::vector<float>& values, QType qtype, DType dtype) {
  float amax = 0.0f;
  for (float v : values) amax = std::isnan(v) || std::isnan(amax) ? NAN : std::max(amax, std::fabs(v));
  return round_to_dtype(dtype, amax / qtype_info(qtype).qmax);
}

float updated_scale(float scale, float fresh, double momentum, DType dtype) {
  if (scale == 1.0f) return fresh;
  // torch turns the python floats momentum and 1 - momentum (computed in double: for 0.9 that
  // is 0.09999999999999998, i.e. 0.1f, not 1.0f - 0.9f) into float32 operands of each 0-dim op.
  const auto keep = static_cast<float>(momentum);
  const auto take = static_cast<float>(1.0 - momentum);
  return round_to_dtype(dtype, round_to_dtype(dtype, keep * scale) + round_to_dtype(dtype, fresh * take));
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
