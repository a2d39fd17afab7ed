#include "host/quantize_checkpoint.h"

#include <algorithm>
#include <stdexcept>

#include "host/atomic_file.h"
#include "host/checkpoint.h"
#include "host/module_patterns.h"
#include "host/quanto_qmap.h"
#include "host/quanto_state_dict.h"
#include "host/staging_dir.h"

namespace pq {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kWeightSuffix = ".weight";

bool is_float_weight(const TensorInfo& info) {
  const bool float_dtype = info.dtype == DType::F32 || info.dtype == DType::F16 || info.dtype == DType::BF16;
  return float_dtype && info.name.size() > kWeightSuffix.size() && info.name.ends_with(kWeightSuffix);
}

// Without the architecture, a 4-D weight can only be a Conv2d kernel, which quanto replaces. A
// 2-D one may be a Linear weight, but also an embedding table or a transformers Conv1D weight,
// which quanto never quantizes (and whose quantized form its non-strict requantize would leave
// uninitialised): those are taken only when --include names them.
bool quantizable(const TensorInfo& info, bool included_by_pattern) {
  if (!is_float_weight(info)) return false;
  if (info.shape.size() == 4) return true;
  return info.shape.size() == 2 && included_by_pattern;
}

std::string ambiguous_weights_message(const fs::path& input, const std::vector<std::string>& names) {
  std::string list;
  for (size_t i = 0; i < std::min<size_t>(names.size(), 3); ++i) list += (i ? ", " : "") + names[i];
  if (names.size() > 3) list += ", ...";
  return input.string() + ": without a config.json the architecture is unknown, so " + std::to_string(names.size()) +
         " rank-2 weight(s) (" + list + ") could be Linear weights or embedding tables, which optimum-quanto never quantizes; "
         "pass --include PATTERN for the Linear modules to quantize, or use a model directory with its config.json";
}

std::string module_of(const std::string& weight_name) { return weight_name.substr(0, weight_name.size() - kWeightSuffix.size()); }

fs::path model_dir_of(const fs::path& input) { return fs::is_directory(input) ? input : input.parent_path(); }

}  // namespace

QuantizeSummary quantize_checkpoint(const fs::path& input, const fs::path& output_dir, const CheckpointQuantizeOptions& options) {
  check_output_dir_free(output_dir, options.overwrite, {input});
  const Checkpoint checkpoint = Checkpoint::open(input);
  std::vector<std::string> weights, ambiguous;
  for (const auto& name : checkpoint.names()) {
    const TensorInfo& info = checkpoint.info(name);
    if (!is_float_weight(info) || !module_selected(module_of(name), options.include, options.exclude)) continue;
    if (quantizable(info, !options.include.empty())) weights.push_back(name);
    else if (info.shape.size() == 2) ambiguous.push_back(name);
  }
  if (!ambiguous.empty()) throw std::invalid_argument(ambiguous_weights_message(input, ambiguous));
  if (weights.empty()) {
    throw std::invalid_argument(input.string() + ": no float <module>.weight tensor matches (2-D weights need --include; 4-D are Conv2d)");
  }

  QuantizeSummary summary;
  NamedTensors out;
  QuantizationMap qmap;
  WeightRecords records;
  for (const auto& name : checkpoint.names()) {
    const Tensor t = checkpoint.load(name);
    summary.input_bytes += t.nbytes();
    if (std::find(weights.begin(), weights.end(), name) == weights.end()) out.emplace_back(name, t);
  }
  for (const auto& name : weights) {
    const std::string module = module_of(name);
    const Tensor w = checkpoint.load(name);
    const QuantizedWeight q = quantize_weight(w, options.weights, options.weight_options, name);
    append_quantized_weight(out, module, q);
    append_activation_scales(out, module, w.dtype());
    qmap[module] = {options.weights, std::nullopt};
    const Optimizer optimizer = options.weight_options.optimizer.value_or(is_sub_byte(q.qtype) ? Optimizer::Max : Optimizer::Absmax);
    records[module] = {q.qtype, q.shape, q.group_size, std::string(optimizer_name(optimizer))};
    summary.quantized.push_back(module);
    if (options.on_module_done) options.on_module_done({summary.quantized.size(), weights.size(), module});
  }
  for (const auto& [name, t] : out) summary.output_bytes += t.nbytes();

  StagingDir staging(output_dir);
  save_checkpoint(staging.path(), out, {{kPortaquantMetadataKey, weight_records_to_json(records)}}, options.max_shard_bytes);
  write_qmap(staging.path() / kQuantoQmapFileName, qmap);
  const fs::path config = model_dir_of(input) / "config.json";
  if (fs::exists(config)) copy_atomically(config, staging.path() / "config.json");
  staging.publish_as(output_dir, options.overwrite);
  return summary;
}

}  // namespace pq
