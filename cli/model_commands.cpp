#include "cli/model_commands.h"

#include "cli/option_checks.h"
#include "cli/progress.h"

#include <cstdio>
#include <stdexcept>

#include "host/nn/calibration.h"
#include "host/nn/pretrained.h"
#include "host/nn/quantize.h"
#include "host/safetensors.h"
#include "host/staging_dir.h"
#include "host/models/text_samples.h"
#include "runtime/model/evaluate.h"
#include "runtime/model/quantize_workflow.h"
#include "runtime/model/token_batch.h"

namespace pq::cli {
namespace fs = std::filesystem;
namespace {

// Errors from running a model name the model directory and the file it ran on (an op's
// message names only the op and the shapes).
template <class F>
auto running(const fs::path& model_dir, const fs::path& input, F&& run) {
  try {
    return run();
  } catch (const std::exception& e) {
    throw std::runtime_error(model_dir.string() + " on " + input.string() + ": " + e.what());
  }
}

// The tensor called `preferred` (or `fallback`), else the only tensor of the file.
Tensor tensor_from(const fs::path& path, const std::string& preferred, const std::string& fallback = "") {
  const SafetensorsFile file = SafetensorsFile::open(path);
  for (const std::string& name : {preferred, fallback}) {
    if (!name.empty() && file.contains(name)) return file.load(name).contiguous();
  }
  if (file.tensors().size() == 1) return file.load(file.tensors().front().name).contiguous();
  throw std::invalid_argument(path.string() + ": expected a tensor named '" + preferred + "' or a single tensor");
}

std::vector<Tensor> batches_of(const Tensor& data, int64_t batch) {
  std::vector<Tensor> out;
  for (int64_t s = 0; s < data.size(0); s += batch) out.push_back(rt::model::rows(data, s, std::min(data.size(0), s + batch)));
  return out;
}

// What calibration runs on: images for nn.Sequential models, text for transformer models.
rt::model::CalibrationData calibration_data(const QuantizeArgs& args) {
  rt::model::CalibrationData data;
  if (args.calibration) data.batches = batches_of(tensor_from(*args.calibration, "images", "input"), 32);
  if (args.calibration_text) {
    const tok::Tokenizer tokenizer = models::model_tokenizer(args.input);
    data.token_samples = models::calibration_samples(tokenizer, *args.calibration_text, args.calibration_samples, args.calibration_length);
  }
  return data;
}

}  // namespace

bool is_model_dir(const fs::path& input) { return fs::is_directory(input) && fs::exists(input / "config.json"); }

void run_model_quantize(const QuantizeArgs& args) {
  rt::model::ModelQuantizeOptions options;
  options.quantize.weights = parse_qtype_option(args.weights);
  options.quantize.activations = parse_qtype_option(args.activations);
  if (args.optimizer) options.quantize.optimizer = parse_optimizer(*args.optimizer);
  options.quantize.group_size = args.group_size;
  options.quantize.include = args.include;
  options.quantize.exclude = args.exclude;
  options.calibration_options.momentum = args.calibration_momentum;
  options.calibration_options.streamline = nn::parse_streamline(args.streamline);
  options.calibration = calibration_data(args);
  options.device = args.device;
  options.save.overwrite = args.force;
  Progress progress("quantize");
  options.on_progress = [&](const rt::model::WorkflowProgress& p) {
    if (p.starts_step) {
      progress.step(p.step, p.steps, p.message);
    } else {
      progress.update(p.done, p.total, p.item, p.bytes_done, p.bytes_total);
    }
  };
  const rt::model::ModelQuantizeResult result = rt::model::quantize_model(args.input, args.output, options);
  progress.finish();
  for (const auto& warning : result.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  std::fprintf(stderr, "quantized %zu modules (weights %s, activations %s), written to %s\n", result.quantized.size(),
               args.weights.c_str(), args.activations.c_str(), args.output.string().c_str());
}

void run_model(const RunArgs& args, std::ostream& out) {
  nn::Model model = nn::load_pretrained(args.model_dir);
  const rt::Device device = rt::Device::open(args.device);
  Tensor output;
  if (model.kind == models::ModelKind::Sequential) {
    const Tensor input = tensor_from(args.input, "input");
    rt::model::ModelRunner runner(*model.root, device, model.input_shape());
    output = running(args.model_dir, args.input, [&] { return runner.forward(input); });
  } else {
    const SafetensorsFile file = SafetensorsFile::open(args.input);
    if (!file.contains("input_ids")) throw std::invalid_argument(args.input.string() + ": no tensor named 'input_ids'");
    std::optional<Tensor> mask;
    if (file.contains("attention_mask")) mask = file.load("attention_mask");
    output = running(args.model_dir, args.input,
                     [&] { return rt::model::run_token_batch(model, device, rt::model::token_sequences(file.load("input_ids"), mask)); });
  }
  save_safetensors(args.output, {{"output", output}});
  out << "output " << shape_to_string(output.shape()) << " written to " << args.output.string() << " (" << device.info().name << ")\n";
}

void run_eval(const EvalArgs& args, std::ostream& out) {
  nn::Model model = nn::load_pretrained(args.model_dir);
  const Tensor images = tensor_from(args.data, "images", "input");
  const SafetensorsFile data = SafetensorsFile::open(args.data);
  if (!data.contains("labels")) throw std::invalid_argument(args.data.string() + ": no tensor named 'labels'");
  const rt::Device device = rt::Device::open(args.device);
  rt::model::ModelRunner runner(*model.root, device, model.input_shape());
  const rt::model::Accuracy acc =
      running(args.model_dir, args.data, [&] { return rt::model::evaluate(runner, images, data.load("labels"), args.batch_size); });
  char line[160];
  std::snprintf(line, sizeof line, "accuracy: %.2f%% (%lld/%lld) on %s\n", acc.percent(), static_cast<long long>(acc.correct),
                static_cast<long long>(acc.total), device.info().id().c_str());
  out << line;
}

}  // namespace pq::cli
