#include "host/nn/config.h"

#include <functional>
#include <map>

#include "host/errors.h"
#include "host/nn/layers.h"

namespace pq::nn {
namespace {

using nlohmann::json;
using LayerBuilder = std::function<std::unique_ptr<Module>(const json&)>;

std::array<int64_t, 2> pair_of(const json& layer, const char* key, std::array<int64_t, 2> fallback) {
  if (!layer.contains(key)) return fallback;
  const json& v = layer.at(key);
  if (v.is_number_integer()) return {v.get<int64_t>(), v.get<int64_t>()};
  return {v.at(0).get<int64_t>(), v.at(1).get<int64_t>()};
}

std::unique_ptr<Module> linear(const json& l) {
  auto m = std::make_unique<Linear>();
  m->in_features = l.at("in_features").get<int64_t>();
  m->out_features = l.at("out_features").get<int64_t>();
  if (l.value("bias", true)) m->bias = Tensor();
  return m;
}

std::unique_ptr<Module> conv2d(const json& l) {
  auto m = std::make_unique<Conv2d>();
  m->in_channels = l.at("in_channels").get<int64_t>();
  m->out_channels = l.at("out_channels").get<int64_t>();
  m->kernel_size = pair_of(l, "kernel_size", {0, 0});
  m->stride = pair_of(l, "stride", {1, 1});
  m->padding = pair_of(l, "padding", {0, 0});
  m->dilation = pair_of(l, "dilation", {1, 1});
  m->groups = l.value("groups", int64_t{1});
  if (l.value("bias", true)) m->bias = Tensor();
  return m;
}

std::unique_ptr<Module> layer_norm(const json& l) {
  auto m = std::make_unique<LayerNorm>();
  const json& shape = l.at("normalized_shape");
  m->normalized_shape = shape.is_number_integer() ? Shape{shape.get<int64_t>()} : shape.get<Shape>();
  m->eps = l.value("eps", 1e-5);
  m->elementwise_affine = l.value("elementwise_affine", true);
  if (m->elementwise_affine && l.value("bias", true)) m->bias = Tensor();
  return m;
}

std::unique_ptr<Module> embedding(const json& l) {
  auto m = std::make_unique<Embedding>();
  m->num_embeddings = l.at("num_embeddings").get<int64_t>();
  m->embedding_dim = l.at("embedding_dim").get<int64_t>();
  return m;
}

template <class Pool>
void read_pool(const json& l, Pool& m) {
  m.kernel_size = pair_of(l, "kernel_size", {0, 0});
  // torch: stride defaults to the kernel size (None in the config).
  m.stride = l.contains("stride") && !l.at("stride").is_null() ? pair_of(l, "stride", {1, 1}) : m.kernel_size;
  m.padding = pair_of(l, "padding", {0, 0});
  m.ceil_mode = l.value("ceil_mode", false);
}

std::unique_ptr<Module> max_pool(const json& l) {
  auto m = std::make_unique<MaxPool2d>();
  read_pool(l, *m);
  m->dilation = pair_of(l, "dilation", {1, 1});
  return m;
}

std::unique_ptr<Module> avg_pool(const json& l) {
  auto m = std::make_unique<AvgPool2d>();
  read_pool(l, *m);
  m->count_include_pad = l.value("count_include_pad", true);
  return m;
}

std::unique_ptr<Module> gelu(const json& l) {
  auto m = std::make_unique<GELU>();
  const std::string approximate = l.value("approximate", std::string("none"));
  if (approximate != "none" && approximate != "tanh") throw std::invalid_argument("approximate must be \"none\" or \"tanh\"");
  m->tanh_approximation = approximate == "tanh";
  return m;
}

std::unique_ptr<Module> flatten(const json& l) {
  auto m = std::make_unique<Flatten>();
  m->start_dim = l.value("start_dim", int64_t{1});
  m->end_dim = l.value("end_dim", int64_t{-1});
  return m;
}

const std::map<std::string, LayerBuilder>& builders() {
  static const std::map<std::string, LayerBuilder> table = {
      {"Linear", linear},
      {"Conv2d", conv2d},
      {"LayerNorm", layer_norm},
      {"Embedding", embedding},
      {"ReLU", [](const json&) { return std::make_unique<ReLU>(); }},
      {"SiLU", [](const json&) { return std::make_unique<SiLU>(); }},
      {"GELU", gelu},
      {"MaxPool2d", max_pool},
      {"AvgPool2d", avg_pool},
      {"Flatten", flatten},
  };
  return table;
}

std::string known_types() {
  std::string names;
  for (const auto& [name, builder] : builders()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

}  // namespace

std::unique_ptr<Module> build_from_config(const json& config, const std::string& source) {
  if (!config.is_object() || !config.contains("layers") || !config.at("layers").is_array()) {
    throw FormatError(source + ": expected an object with a \"layers\" array");
  }
  const std::string architecture = config.value("architecture", std::string("Sequential"));
  if (architecture != "Sequential") throw FormatError(source + ": unsupported architecture '" + architecture + "' (only Sequential)");
  auto root = std::make_unique<Sequential>();
  const json& layers = config.at("layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    const json& layer = layers[i];
    const std::string type = layer.is_object() ? layer.value("type", std::string()) : std::string();
    const auto it = builders().find(type);
    if (it == builders().end()) {
      throw FormatError(source + ": layer " + std::to_string(i) + ": unknown layer type '" + type + "' (known: " +
                        known_types() + ")");
    }
    try {
      root->add_child(std::to_string(i), it->second(layer));
    } catch (const std::exception& e) {
      throw FormatError(source + ": layer " + std::to_string(i) + " (" + type + "): " + e.what());
    }
  }
  return root;
}

Shape expected_weight_shape(const Module& module) {
  if (auto* l = dynamic_cast<const Linear*>(&module)) return {l->out_features, l->in_features};
  if (auto* c = dynamic_cast<const Conv2d*>(&module)) {
    return {c->out_channels, c->in_channels / c->groups, c->kernel_size[0], c->kernel_size[1]};
  }
  if (auto* n = dynamic_cast<const LayerNorm*>(&module)) return n->normalized_shape;
  if (auto* e = dynamic_cast<const Embedding*>(&module)) return {e->num_embeddings, e->embedding_dim};
  if (auto* r = dynamic_cast<const RMSNorm*>(&module)) return {r->dim};
  return {};
}

std::optional<Shape> expected_bias_shape(const Module& module) {
  auto* w = dynamic_cast<const WeightedLayer*>(&module);
  if (!w || !w->bias) return std::nullopt;
  if (auto* n = dynamic_cast<const LayerNorm*>(&module)) return n->normalized_shape;
  return Shape{expected_weight_shape(module).at(0)};
}

}  // namespace pq::nn
