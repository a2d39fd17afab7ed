#include "cli/quantize_command.h"

#include <chrono>
#include <cstdio>

#include "cli/format.h"
#include "cli/model_commands.h"
#include "cli/progress.h"
#include "host/parallel.h"
#include "host/quantize_checkpoint.h"

namespace pq::cli {
namespace {

// The CLI spells qtypes without the "q" (as optimum-cli does); quanto's names work too.
QType weights_qtype(const std::string& name) {
  return parse_qtype(name.starts_with("q") ? name : "q" + name);
}

}  // namespace

void run_quantize(const QuantizeArgs& args) {
  set_num_threads(args.threads);
  if (is_model_dir(args.input)) return run_model_quantize(args);
  if (args.activations != "none" || args.calibration) {
    throw std::invalid_argument(args.input.string() + ": --activations/--calibration need a model directory with config.json");
  }
  CheckpointQuantizeOptions options;
  options.weights = weights_qtype(args.weights);
  if (args.optimizer) options.weight_options.optimizer = parse_optimizer(*args.optimizer);
  options.weight_options.group_size = args.group_size;
  options.include = args.include;
  options.exclude = args.exclude;
  options.overwrite = args.force;
  Progress progress("quantizing");
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
