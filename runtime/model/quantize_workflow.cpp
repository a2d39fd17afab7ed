#include "runtime/model/quantize_workflow.h"

#include <stdexcept>

#include "host/staging_dir.h"
#include "runtime/model/decoder_runner.h"
#include "runtime/model/encoder_runner.h"
#include "runtime/model/model_runner.h"
#include "runtime/model/quantized_modules.h"

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
      break;
    }
    case models::ModelKind::Encoder: {
      if (data.token_samples.empty()) throw std::invalid_argument("calibration of an encoder needs token samples (calibration text)");
      EncoderRunner runner(model, device);
      runner.calibrate(data.token_samples, options);
      break;
    }
  }
  check_calibrated_scales(*model.root);
}

namespace {

// Numbers the steps and announces each before it runs, then reports its items as they go.
class StepReporter {
 public:
  StepReporter(const std::function<void(const WorkflowProgress&)>& on_progress, size_t steps)
      : on_progress_(on_progress), steps_(steps) {}

  void start(std::string message) {
    ++step_;
    message_ = std::move(message);
    report({step_, steps_, message_, true});
  }
  void items(size_t done, size_t total, const std::string& item, uint64_t bytes_done = 0, uint64_t bytes_total = 0) {
    report({step_, steps_, message_, false, done, total, item, bytes_done, bytes_total});
  }

 private:
  void report(const WorkflowProgress& p) const {
    if (on_progress_) on_progress_(p);
  }

  const std::function<void(const WorkflowProgress&)>& on_progress_;
  size_t steps_;
  size_t step_ = 0;
  std::string message_;
};

}  // namespace

ModelQuantizeResult quantize_model(const std::filesystem::path& input, const std::filesystem::path& output,
                                   const ModelQuantizeOptions& options) {
  const bool calibrating = options.quantize.activations.has_value();
  if (calibrating && options.calibration.empty()) {
    throw std::invalid_argument("quantized activations need calibration data (--calibration or --calibration-text)");
  }
  check_output_dir_free(output, options.save.overwrite, {input});
  StepReporter steps(options.on_progress, calibrating ? 5 : 4);
  steps.start("loading " + input.string());
  nn::Model model = nn::load_pretrained(input);
  ModelQuantizeResult result;
  result.warnings = model.warnings;
  steps.start("selecting the modules to quantize");
  result.quantized = nn::quantize(*model.root, options.quantize);
  if (result.quantized.empty()) throw std::invalid_argument(input.string() + ": no module matches the quantization request");
  if (calibrating) {
    result.device = Device::open(options.device).info().id();
    const std::string what = options.calibration.batches.empty() ? " samples (" : " batches (";
    steps.start("calibrating " + std::to_string(result.quantized.size()) + " modules on " + std::to_string(options.calibration.size()) +
                what + result.device + ")");
    nn::CalibrationOptions calibration = options.calibration_options;
    calibration.on_sample = [&](size_t done, size_t total) {
      if (options.calibration_options.on_sample) options.calibration_options.on_sample(done, total);
      steps.items(done, total, "");
    };
    calibrate_model(model, options.calibration, calibration, options.device);
  }
  steps.start("freezing " + std::to_string(result.quantized.size()) + " modules (quantizing their weights)");
  nn::freeze(*model.root, [&](const std::string& name, size_t done, size_t total) { steps.items(done, total, name); });
  steps.start("saving " + output.string());
  nn::SaveOptions save = options.save;
  save.on_bytes = [&](uint64_t done, uint64_t total) {
    if (options.save.on_bytes) options.save.on_bytes(done, total);
    steps.items(0, 0, "", done, total);
  };
  nn::save_pretrained(model, output, save);
  for (const auto& w : nn::calibration_warnings(*model.root)) result.warnings.push_back(w);
  return result;
}

}  // namespace pq::rt::model
