#include "cli/model_commands.h"

#include "cli/progress.h"

#include <cstdio>
#include <stdexcept>

#include "host/nn/calibration.h"
#include "host/nn/pretrained.h"
#include "host/nn/quantize.h"
#include "host/safetensors.h"
#include "host/staging_dir.h"
#include "runtime/model/evaluate.h"

namespace pq::cli {
namespace fs = std::filesystem;
namespace {

std::optional<QType> qtype_option(const std::string& name, const char* what) {
  if (name == "none") return std::nullopt;
  try {
    return parse_qtype(name.starts_with("q") ? name : "q" + name);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string(what) + ": " + e.what());
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

}  // namespace

bool is_model_dir(const fs::path& input) { return fs::is_directory(input) && fs::exists(input / "config.json"); }

void run_model_quantize(const QuantizeArgs& args) {
  nn::QuantizeConfig config;
  config.weights = qtype_option(args.weights, "--weights");
  config.activations = qtype_option(args.activations, "--activations");
  if (args.optimizer) config.optimizer = parse_optimizer(*args.optimizer);
  config.group_size = args.group_size;
  config.include = args.include;
  config.exclude = args.exclude;
  if (config.activations && !args.calibration) {
    throw std::invalid_argument("--activations " + args.activations +
                                " needs calibration data: pass --calibration FILE.safetensors (images to calibrate on)");
  }
  check_output_dir_free(args.output, args.force);
  Progress progress("quantize");
  const size_t steps = args.calibration ? 4 : 3;
  size_t step = 0;
  nn::Model model = nn::load_pretrained(args.input);
  const std::vector<std::string> quantized = nn::quantize(*model.root, config);
  if (quantized.empty()) throw std::invalid_argument(args.input.string() + ": no module matches the quantization request");
  progress.update(++step, steps, "quantized " + std::to_string(quantized.size()) + " modules");
  if (args.calibration) {
    const auto batches = batches_of(tensor_from(*args.calibration, "images", "input"), 32);
    rt::model::ModelRunner runner(*model.root, rt::Device::open(args.device), model.input_shape());
    runner.calibrate(batches);
    progress.update(++step, steps, "calibrated on " + std::to_string(batches.size()) + " batches (" + runner.device().info().id() + ")");
  }
  nn::freeze(*model.root);
  progress.update(++step, steps, "frozen");
  nn::save_pretrained(model, args.output, {.overwrite = args.force});
  progress.update(++step, steps, "saved");
  progress.finish();
  for (const auto& warning : nn::calibration_warnings(*model.root)) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  std::fprintf(stderr, "quantized %zu modules (weights %s, activations %s), written to %s\n", quantized.size(),
               args.weights.c_str(), args.activations.c_str(), args.output.string().c_str());
}

void run_model(const RunArgs& args, std::ostream& out) {
  nn::Model model = nn::load_pretrained(args.model_dir);
  const Tensor input = tensor_from(args.input, "input");
  rt::model::ModelRunner runner(*model.root, rt::Device::open(args.device), model.input_shape());
  const Tensor output = runner.forward(input);
  save_safetensors(args.output, {{"output", output}});
  out << "output " << shape_to_string(output.shape()) << " written to " << args.output.string() << " ("
      << runner.device().info().name << ")\n";
}

void run_eval(const EvalArgs& args, std::ostream& out) {
  nn::Model model = nn::load_pretrained(args.model_dir);
  const Tensor images = tensor_from(args.data, "images", "input");
  const SafetensorsFile data = SafetensorsFile::open(args.data);
  if (!data.contains("labels")) throw std::invalid_argument(args.data.string() + ": no tensor named 'labels'");
  const rt::Device device = rt::Device::open(args.device);
  rt::model::ModelRunner runner(*model.root, device, model.input_shape());
  const rt::model::Accuracy acc = rt::model::evaluate(runner, images, data.load("labels"), args.batch_size);
  char line[160];
  std::snprintf(line, sizeof line, "accuracy: %.2f%% (%lld/%lld) on %s\n", acc.percent(), static_cast<long long>(acc.correct),
                static_cast<long long>(acc.total), device.info().id().c_str());
  out << line;
}

}  // namespace pq::cli
