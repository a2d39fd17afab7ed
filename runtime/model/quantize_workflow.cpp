#include "runtime/model/quantize_workflow.h"

#include <stdexcept>

#include "host/staging_dir.h"
#include "runtime/model/decoder_runner.h"
#include "runtime/model/encoder_runner.h"
#include "runtime/model/model_runner.h"

namespace pq::rt::model {

void calibrate_model(nn::Model& model, const CalibrationData& data, const nn::CalibrationOptions& options,
                     const std::string& device_spec) {
  const Device device = Device::open(device_spec);
  switch (model.kind) {
    case models::ModelKind::Sequential: {
      if (data.batches.empty()) throw std::invalid_argument("calibration of an nn.Sequential model needs input batches");
      ModelRunner runner(*model.root, device, model.input_shape());
      runner.calibrate(data.batches, options);
      return;
    }
    case models::ModelKind::Decoder: {
      if (data.token_samples.empty()) throw std::invalid_argument("calibration of a decoder needs token samples (calibration text)");
      int64_t longest = 0;
      for (const auto& s : data.token_samples) longest = std::max(longest, static_cast<int64_t>(s.size()));
      DecoderRunner runner(model, device, longest);
      runner.calibrate(data.token_samples, options);
      return;
    }
    case models::ModelKind::Encoder: {
      if (data.token_samples.empty()) throw std::invalid_argument("calibration of an encoder needs token samples (calibration text)");
      EncoderRunner runner(model, device);
      runner.calibrate(data.token_samples, options);
      return;
    }
  }
}

ModelQuantizeResult quantize_model(const std::filesystem::path& input, const std::filesystem::path& output,
                                   const ModelQuantizeOptions& options) {
  const bool calibrating = options.quantize.activations.has_value();
  if (calibrating && options.calibration.empty()) {
    throw std::invalid_argument("quantized activations need calibration data (--calibration or --calibration-text)");
  }
  check_output_dir_free(output, options.save.overwrite);
  const size_t steps = calibrating ? 5 : 4;
  size_t step = 0;
  auto progress = [&](const std::string& message) {
    if (options.on_progress) options.on_progress({++step, steps, message});
  };
  nn::Model model = nn::load_pretrained(input);
  progress("loaded " + input.string());
  ModelQuantizeResult result;
  result.warnings = model.warnings;
  result.quantized = nn::quantize(*model.root, options.quantize);
  if (result.quantized.empty()) throw std::invalid_argument(input.string() + ": no module matches the quantization request");
  progress("quantized " + std::to_string(result.quantized.size()) + " modules");
  if (calibrating) {
    calibrate_model(model, options.calibration, options.calibration_options, options.device);
    result.device = Device::open(options.device).info().id();
    progress("calibrated on " + std::to_string(options.calibration.size()) + " samples (" + result.device + ")");
  }
  nn::freeze(*model.root);
  progress("frozen");
  nn::save_pretrained(model, output, options.save);
  progress("saved " + output.string());
  for (const auto& w : nn::calibration_warnings(*model.root)) result.warnings.push_back(w);
  return result;
}

}  // namespace pq::rt::model
