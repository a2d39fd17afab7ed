#include "host/nn/pretrained.h"

#include <fstream>

#include "host/errors.h"
#include "host/nn/config.h"
#include "host/nn/layers.h"
#include "host/nn/quantize.h"
#include "host/quanto_state_dict.h"
#include "host/staging_dir.h"

namespace pq::nn {
namespace fs = std::filesystem;
namespace {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open (is this a model directory?)");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path.string() + ": malformed JSON: " + e.what());
  }
}

std::string describe_module(const std::string& name, const Module& m) { return "module '" + name + "' (" + std::string(m.type()) + ")"; }

Tensor load_checked(const Checkpoint& ckpt, const std::string& module_desc, const std::string& tensor, const Shape& expected) {
  if (!ckpt.contains(tensor)) throw FormatError(module_desc + ": missing tensor '" + tensor + "'");
  const Tensor t = ckpt.load(tensor);
  if (t.shape() != expected) {
    throw FormatError(module_desc + ": tensor '" + tensor + "' has shape " + shape_to_string(t.shape()) +
                      " but config.json implies " + shape_to_string(expected));
  }
  if (!is_floating(t.dtype()) || is_float8(t.dtype())) {
    throw FormatError(module_desc + ": tensor '" + tensor + "' must be float32/float16/bfloat16, got " + std::string(dtype_name(t.dtype())));
  }
  return t;
}

float load_scale(const Checkpoint& ckpt, const std::string& name) {
  if (!ckpt.contains(name)) return 1.0f;
  const Tensor t = ckpt.load(name);
  if (t.numel() != 1) throw FormatError("tensor '" + name + "' must hold one value, has shape " + shape_to_string(t.shape()));
  return t.to_float_vector()[0];
}

bool has_stored_quantized_weight(const Checkpoint& ckpt, const std::string& module) {
  return ckpt.contains(module + ".weight._data") || ckpt.contains(module + ".weight._data._data");
}

void load_weights(WeightedLayer& layer, const std::string& name, const Checkpoint& ckpt, const WeightRecords& records) {
  const std::string desc = describe_module(name, layer);
  const Shape shape = expected_weight_shape(layer);
  QuantState& q = layer.quant_state;
  const bool affine_free_norm = dynamic_cast<LayerNorm*>(&layer) && !static_cast<LayerNorm&>(layer).elementwise_affine;
  if (q.weights && has_stored_quantized_weight(ckpt, name)) {
    const auto record = records.find(name);
    std::optional<int> group_size = resolve_group_size(shape, *q.weights, std::nullopt);
    if (record != records.end()) {
      if (record->second.shape != shape) {
        throw FormatError(desc + ": the stored weight has shape " + shape_to_string(record->second.shape) +
                          " but config.json implies " + shape_to_string(shape));
      }
      group_size = record->second.group_size;
      if (auto opt = record->second.optimizer; !opt.empty()) q.optimizer = parse_optimizer(opt);
    }
    q.frozen = load_quantized_weight(ckpt, name, *q.weights, shape, group_size);
  } else if (!affine_free_norm) {
    layer.weight = load_checked(ckpt, desc, name + ".weight", shape);
  }
  if (auto bias_shape = expected_bias_shape(layer)) layer.bias = load_checked(ckpt, desc, name + ".bias", *bias_shape);
  q.input_scale = load_scale(ckpt, name + ".input_scale");
  q.output_scale = load_scale(ckpt, name + ".output_scale");
}

}  // namespace

Shape Model::input_shape() const {
  return config.contains("input_shape") ? config.at("input_shape").get<Shape>() : Shape{};
}

void requantize(Model& model, const Checkpoint& checkpoint, const QuantizationMap& qmap) {
  const WeightRecords records = weight_records_from_metadata(checkpoint.metadata(), checkpoint.files().front().string());
  for (auto& [name, module] : named_modules(*model.root)) {
    auto* layer = dynamic_cast<WeightedLayer*>(module);
    const auto entry = qmap.find(name);
    if (entry != qmap.end()) {
      if (!layer) throw FormatError(std::string(kQuantoQmapFileName) + ": " + describe_module(name, *module) + " cannot be quantized");
      const QuantizeConfig config{entry->second.weights, entry->second.activations};
      if (!quantize_module(*layer, config) && (config.weights || config.activations)) {
        throw FormatError(std::string(kQuantoQmapFileName) + ": " + describe_module(name, *module) + " cannot take this quantization");
      }
    }
    if (layer) load_weights(*layer, name, checkpoint, records);
  }
}

Model load_pretrained(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a model directory");
  Model model;
  const fs::path config_path = dir / kConfigFileName;
  model.config = read_json(config_path);
  model.root = build_from_config(model.config, config_path.string());
  const Checkpoint checkpoint = Checkpoint::open(dir);
  const fs::path qmap_path = dir / kQuantoQmapFileName;
  requantize(model, checkpoint, fs::exists(qmap_path) ? read_qmap(qmap_path) : QuantizationMap{});
  return model;
}

void save_pretrained(const Model& model, const fs::path& dir, const SaveOptions& options) {
  check_output_dir_free(dir, options.overwrite);
  NamedTensors tensors;
  WeightRecords records;
  for (const auto& [name, module] : named_modules(*model.root)) {
    module->append_state(name.empty() ? name : name + ".", tensors);
    const QuantState* q = module->quant();
    if (q && q->frozen) {
      records[name] = {q->frozen->qtype, q->frozen->shape, q->frozen->group_size, std::string(optimizer_name(q->optimizer))};
    }
  }
  StagingDir staging(dir);
  std::map<std::string, std::string> metadata;
  if (!records.empty()) metadata[kPortaquantMetadataKey] = weight_records_to_json(records);
  save_checkpoint(staging.path(), tensors, metadata, options.max_shard_bytes);
  write_qmap(staging.path() / kQuantoQmapFileName, quantization_map(*model.root));
  std::ofstream(staging.path() / kConfigFileName) << model.config.dump(2) << "\n";
  staging.publish_as(dir, options.overwrite);
}

}  // namespace pq::nn
