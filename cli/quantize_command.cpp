#include "cli/quantize_command.h"

#include <chrono>
#include <cstdio>

#include "cli/cli_errors.h"
#include "cli/format.h"
#include "cli/model_commands.h"
#include "cli/option_checks.h"
#include "cli/progress.h"
#include "host/parallel.h"
#include "host/quantize_checkpoint.h"

namespace pq::cli {
namespace {

// Combinations of options that cannot work, whatever the input holds.
void check_usage(const QuantizeArgs& args) {
  const std::optional<QType> weights = parse_qtype_option(args.weights);
  const bool sub_byte = weights && is_sub_byte(*weights);
  if (args.group_size && !sub_byte) {
    throw UsageError("--group-size applies to int2 and int4 weights, not to --weights " + args.weights);
  }
  if (args.optimizer) {
    if (!weights) throw UsageError("--optimizer needs quantized weights, not --weights none");
    if (sub_byte == (*args.optimizer == "absmax")) {
      throw UsageError("--optimizer " + *args.optimizer + " does not apply to --weights " + args.weights +
                       (sub_byte ? " (int2/int4: max or hqq)" : " (8-bit weights are symmetric: absmax)"));
    }
  }
  if (!(args.calibration_momentum < 1.0)) throw UsageError("--calibration-momentum must be below 1");
  if (args.calibration && args.calibration_text) throw UsageError("give --calibration or --calibration-text, not both");
  if (args.activations != "none" && !args.calibration && !args.calibration_text) {
    throw UsageError("--activations " + args.activations +
                     " needs calibration data: --calibration FILE.safetensors (nn.Sequential models: images) or "
                     "--calibration-text FILE (transformer models)");
  }
  if (args.activations == "none" && (args.calibration || args.calibration_text)) {
    throw UsageError("--calibration/--calibration-text calibrate quantized activations: add --activations int8 or float8");
  }
  if (!weights && args.activations == "none") throw UsageError("--weights none --activations none quantizes nothing");
}

}  // namespace

void run_quantize(const QuantizeArgs& args) {
  check_usage(args);
  set_num_threads(args.threads);
  if (is_model_dir(args.input)) return run_model_quantize(args);
  if (args.activations != "none") {
    throw std::invalid_argument(args.input.string() + ": --activations/--calibration need a model directory with config.json");
  }
  if (!parse_qtype_option(args.weights)) throw std::invalid_argument(args.input.string() + ": --weights none needs a model directory with config.json");
  CheckpointQuantizeOptions options;
  options.weights = *parse_qtype_option(args.weights);
  if (args.optimizer) options.weight_options.optimizer = parse_optimizer(*args.optimizer);
  options.weight_options.group_size = args.group_size;
  options.include = args.include;
  options.exclude = args.exclude;
  options.overwrite = args.force;
  Progress progress("quantizing");
  progress.step(0, 0, "the weights of " + args.input.string() + " to " + std::string(qtype_name(options.weights)));
  options.on_module_done = [&](const QuantizeProgress& p) { progress.update(p.done, p.total, p.module); };
  const auto start = std::chrono::steady_clock::now();
  const QuantizeSummary summary = quantize_checkpoint(args.input, args.output, options);
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "quantized %zu modules to %s in %.2f s: %s -> %s bytes, written to %s\n", summary.quantized.size(),
               std::string(qtype_name(options.weights)).c_str(), seconds, with_thousands(summary.input_bytes).c_str(),
               with_thousands(summary.output_bytes).c_str(), args.output.string().c_str());
}

}  // namespace pq::cli
