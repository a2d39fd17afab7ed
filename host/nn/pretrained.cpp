#include "host/nn/pretrained.h"

#include <algorithm>
#include <set>

#include "host/atomic_file.h"
#include "host/errors.h"
#include "host/json_fields.h"
#include "host/model_dir_files.h"
#include "host/models/bert_model.h"
#include "host/models/decoder_model.h"
#include "host/nn/config.h"
#include "host/nn/layers.h"
#include "host/nn/quantize.h"
#include "host/quanto_state_dict.h"
#include "host/staging_dir.h"

namespace pq::nn {
namespace fs = std::filesystem;
namespace {

std::string describe_module(const std::string& name, const Module& m) { return "module '" + name + "' (" + std::string(m.type()) + ")"; }

// Reads one module's tensors from a checkpoint, remembering which tensors were used.
class WeightLoader {
 public:
  WeightLoader(const Checkpoint& ckpt, std::string prefix)
      : ckpt_(ckpt),
        prefix_(std::move(prefix)),
        records_(weight_records_from_metadata(ckpt.metadata(), ckpt.files().front().string())) {}

  bool contains(const std::string& name) const { return ckpt_.contains(prefix_ + name); }
  const std::set<std::string>& used() const { return used_; }

  void load(WeightedLayer& layer, const std::string& name, bool weight_optional) {
    const std::string desc = describe_module(name, layer);
    const Shape shape = expected_weight_shape(layer);
    QuantState& q = layer.quant_state;
    const auto* norm = dynamic_cast<LayerNorm*>(&layer);
    if (q.weights && has_stored_quantized_weight(name)) {
      load_frozen(layer, name, desc, shape);
    } else if (!(norm && !norm->elementwise_affine) && !(weight_optional && !contains(name + ".weight"))) {
      layer.weight = float_tensor(desc, name + ".weight", shape);
    }
    if (auto bias_shape = expected_bias_shape(layer)) layer.bias = float_tensor(desc, name + ".bias", *bias_shape);
    q.input_scale = scale(name + ".input_scale");
    q.output_scale = scale(name + ".output_scale");
  }

 private:
  bool has_stored_quantized_weight(const std::string& module) const {
    return contains(module + ".weight._data") || contains(module + ".weight._data._data");
  }

  void load_frozen(WeightedLayer& layer, const std::string& name, const std::string& desc, const Shape& shape) {
    QuantState& q = layer.quant_state;
    const auto record = records_.find(prefix_ + name);
    std::optional<int> group_size = resolve_group_size(shape, *q.weights, std::nullopt);
    if (record != records_.end()) {
      if (record->second.shape != shape) {
        throw FormatError(desc + ": the stored weight has shape " + shape_to_string(record->second.shape) +
                          " but config.json implies " + shape_to_string(shape));
      }
      group_size = record->second.group_size;
      if (auto opt = record->second.optimizer; !opt.empty()) q.optimizer = parse_optimizer(opt);
    }
    q.frozen = load_quantized_weight(ckpt_, prefix_ + name, *q.weights, shape, group_size);
    for (const char* part : {".weight._data", ".weight._data._data", ".weight._scale", ".weight._shift"}) {
      if (contains(name + part)) used_.insert(prefix_ + name + part);
    }
  }

  Tensor float_tensor(const std::string& module_desc, const std::string& tensor, const Shape& expected) {
    const std::string key = prefix_ + tensor;
    if (!ckpt_.contains(key)) throw FormatError(module_desc + ": missing tensor '" + key + "'");
    const Tensor t = ckpt_.load(key);
    used_.insert(key);
    if (t.shape() != expected) {
      throw FormatError(module_desc + ": tensor '" + key + "' has shape " + shape_to_string(t.shape()) +
                        " but config.json implies " + shape_to_string(expected));
    }
    if (!is_floating(t.dtype()) || is_float8(t.dtype())) {
      throw FormatError(module_desc + ": tensor '" + key + "' must be float32/float16/bfloat16, got " + std::string(dtype_name(t.dtype())));
    }
    return t;
  }

  float scale(const std::string& tensor) {
    const std::string key = prefix_ + tensor;
    if (!ckpt_.contains(key)) return 1.0f;
    used_.insert(key);
    const Tensor t = ckpt_.load(key);
    if (t.numel() != 1 || !is_floating(t.dtype())) {
      throw FormatError("tensor '" + key + "' must hold one float value, has " + std::string(dtype_name(t.dtype())) + " " +
                        shape_to_string(t.shape()));
    }
    return t.to_float_vector()[0];
  }

  const Checkpoint& ckpt_;
  std::string prefix_;
  WeightRecords records_;
  std::set<std::string> used_;
};

// The lm_head of a decoder with tie_word_embeddings reads the embedding table, as transformers'
// tie_weights() makes it; the file then holds no lm_head.weight (or one that is ignored).
bool tied_lm_head(const Model& model) {
  if (!model.decoder || !model.decoder->tie_word_embeddings) return false;
  const QuantState* q = models::decoder_modules(*model.root).lm_head->quant();
  return !(q && q->weights);
}

void tie_lm_head(Model& model) {
  if (!tied_lm_head(model)) return;
  const models::DecoderModules d = models::decoder_modules(*model.root);
  d.lm_head->weight = d.embed_tokens->weight;
}

// The dtype of the float weights: the embedding table's for transformer models.
DType model_dtype(Model& model) {
  if (model.decoder) return models::decoder_modules(*model.root).embed_tokens->weight.dtype();
  if (model.encoder) return models::bert_modules(*model.root).word->weight.dtype();
  for (auto& [name, m] : named_modules(*model.root)) {
    if (const Tensor* w = m->float_weight()) return w->dtype();
    if (const QuantState* q = m->quant(); q && q->frozen) return q->frozen->float_dtype;
  }
  return DType::F32;
}

// transformers loads every float parameter in the model's dtype; a checkpoint that mixes dtypes
// (norms kept in float32, say) is converted as it does.
void convert_float_weights(Model& model) {
  for (auto& [name, m] : named_modules(*model.root)) {
    auto* layer = dynamic_cast<WeightedLayer*>(m);
    if (!layer) continue;
    if (layer->weight.defined() && layer->weight.dtype() != model.dtype) layer->weight = layer->weight.to(model.dtype);
    if (layer->bias && layer->bias->defined() && layer->bias->dtype() != model.dtype) layer->bias = layer->bias->to(model.dtype);
  }
}

// Buffers transformers keeps in some checkpoints that are recomputed, not loaded.
bool is_recomputed_buffer(const std::string& name) {
  return name.ends_with("embeddings.position_ids") || name.ends_with("rotary_emb.inv_freq");
}

void warn_unused(Model& model, const Checkpoint& ckpt, const std::set<std::string>& used) {
  std::vector<std::string> unused;
  const bool masked_lm = model.encoder && model.encoder->architecture == "BertForMaskedLM";
  for (const auto& name : ckpt.names()) {
    if (used.count(name) || is_recomputed_buffer(name)) continue;
    if (masked_lm && name.starts_with("cls.")) model.passthrough.emplace_back(name, ckpt.load(name));
    else unused.push_back(name);
  }
  if (unused.empty()) return;
  std::string list;
  for (size_t i = 0; i < std::min<size_t>(unused.size(), 5); ++i) list += (i ? ", " : "") + unused[i];
  if (unused.size() > 5) list += ", ...";
  model.warnings.push_back(std::to_string(unused.size()) + " checkpoint tensor(s) are not used by the model: " + list);
}

void build_tree(Model& model, const Checkpoint& ckpt, const std::string& config_source, std::string& prefix) {
  model.kind = models::model_kind(model.config, config_source);
  switch (model.kind) {
    case models::ModelKind::Sequential:
      model.root = build_from_config(model.config, config_source);
      return;
    case models::ModelKind::Decoder:
      model.decoder = models::parse_decoder_config(model.config, config_source);
      model.root = models::build_decoder(*model.decoder);
      for (const auto& key : model.decoder->unknown_keys) model.warnings.push_back(config_source + ": " + key + " is not used");
      return;
    case models::ModelKind::Encoder: {
      model.encoder = models::parse_bert_config(model.config, config_source);
      // A BertModel saved from a task model (BertForMaskedLM, ...) carries the `bert.` prefix.
      // BertForMaskedLM keeps the encoder under "bert" (its module names are bert.*); a BertModel
      // saved from a task model carries that prefix in its tensor names only.
      const bool masked_lm = model.encoder->architecture == "BertForMaskedLM";
      const bool plain = ckpt.contains("embeddings.word_embeddings.weight");
      prefix = !masked_lm && !plain && ckpt.contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
      const std::string pooler_key = (masked_lm ? "bert." : prefix) + "pooler.dense.weight";
      const bool pooler = ckpt.contains(pooler_key) || ckpt.contains(pooler_key + "._data") || ckpt.contains(pooler_key + "._data._data");
      std::unique_ptr<Module> bert = models::build_bert(*model.encoder, pooler);
      if (masked_lm) {
        model.root = std::make_unique<Container>("BertForMaskedLM");
        model.root->add_child("bert", std::move(bert));
      } else {
        model.root = std::move(bert);
      }
      for (const auto& key : model.encoder->unknown_keys) model.warnings.push_back(config_source + ": " + key + " is not used");
      return;
    }
  }
}

// Tokenizer, generation and sentence-transformers files of the input directory, each copied
// through the checked atomic writer.
void copy_companion_files(const fs::path& from, const fs::path& to) {
  if (from.empty() || !fs::is_directory(from)) return;
  for (const auto& entry : fs::directory_iterator(from)) {
    if (is_companion_entry(entry.path())) copy_atomically(entry.path(), to / entry.path().filename());
  }
}

// quanto's save_pretrained: a quantized lm_head cannot stay tied to the float embedding table.
nlohmann::json saved_config(const Model& model) {
  nlohmann::json config = model.config;
  if (model.decoder && model.decoder->tie_word_embeddings && !tied_lm_head(model)) config["tie_word_embeddings"] = false;
  return config;
}

}  // namespace

Shape Model::input_shape() const {
  return config.contains("input_shape") ? config.at("input_shape").get<Shape>() : Shape{};
}

std::vector<std::string> requantize(Model& model, const Checkpoint& checkpoint, const QuantizationMap& qmap,
                                    const std::string& tensor_prefix) {
  WeightLoader loader(checkpoint, tensor_prefix);
  const bool tied = model.decoder && model.decoder->tie_word_embeddings;
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
    if (layer) loader.load(*layer, name, tied && name == "lm_head");
  }
  std::set<std::string> names;
  for (auto& [name, module] : named_modules(*model.root)) names.insert(name);
  for (const auto& q : qmap) {
    if (!names.count(q.first)) throw FormatError(std::string(kQuantoQmapFileName) + ": module '" + q.first + "' is not part of this model");
  }
  return {loader.used().begin(), loader.used().end()};
}

Model load_pretrained(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + ": not a model directory");
  Model model;
  model.dir = dir;
  const fs::path config_path = dir / kConfigFileName;
  if (!fs::exists(config_path)) throw std::runtime_error(config_path.string() + ": missing (is this a model directory?)");
  model.config = read_json_file(config_path.string());
  const Checkpoint checkpoint = Checkpoint::open(dir);
  std::string prefix;
  build_tree(model, checkpoint, config_path.string(), prefix);
  const fs::path qmap_path = dir / kQuantoQmapFileName;
  const std::vector<std::string> used =
      requantize(model, checkpoint, fs::exists(qmap_path) ? read_qmap(qmap_path) : QuantizationMap{}, prefix);
  model.dtype = model_dtype(model);
  convert_float_weights(model);
  tie_lm_head(model);
  if (model.kind != models::ModelKind::Sequential) warn_unused(model, checkpoint, {used.begin(), used.end()});
  return model;
}

void save_pretrained(const Model& model, const fs::path& dir, const SaveOptions& options) {
  check_output_dir_free(dir, options.overwrite, {model.dir});
  NamedTensors tensors;
  WeightRecords records;
  const bool skip_lm_head = tied_lm_head(model);
  for (const auto& [name, module] : named_modules(*model.root)) {
    if (skip_lm_head && name == "lm_head") continue;
    module->append_state(name.empty() ? name : name + ".", tensors);
    const QuantState* q = module->quant();
    if (q && q->frozen) {
      records[name] = {q->frozen->qtype, q->frozen->shape, q->frozen->group_size, std::string(optimizer_name(q->optimizer))};
    }
  }
  for (const auto& t : model.passthrough) tensors.push_back(t);
  StagingDir staging(dir);
  std::map<std::string, std::string> metadata;
  if (!records.empty()) metadata[kPortaquantMetadataKey] = weight_records_to_json(records);
  save_checkpoint(staging.path(), tensors, metadata, options.max_shard_bytes, options.on_bytes);
  write_qmap(staging.path() / kQuantoQmapFileName, quantization_map(*model.root));
  copy_companion_files(model.dir, staging.path());
  write_file_atomically(staging.path() / kConfigFileName, saved_config(model).dump(2) + "\n");
  staging.publish_as(dir, options.overwrite);
}

}  // namespace pq::nn
