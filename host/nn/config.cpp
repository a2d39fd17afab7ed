#include "host/nn/config.h"

#include <functional>
#include <map>

#include "host/errors.h"
#include "host/json_fields.h"
#include "host/nn/layers.h"
#include "host/nn/shape_check.h"

namespace pq::nn {
namespace {

using nlohmann::json;
using LayerBuilder = std::function<std::unique_ptr<Module>(const JsonFields&)>;

// Far above any layer of the kind of model this format describes, and small enough that no
// product of a few of them overflows int64 (shape_check bounds the products themselves).
constexpr int64_t kMaxFeatures = int64_t{1} << 24;
constexpr int64_t kMaxKernel = 1 << 12;
constexpr size_t kMaxLayers = 10000;
constexpr size_t kMaxRank = 8;
constexpr int64_t kMaxWeightElements = int64_t{1} << 40;

// An int, or a pair [a, b], each in [lo, hi] (torch's _pair).
std::array<int64_t, 2> pair_of(const JsonFields& l, const std::string& key, int64_t lo, int64_t hi,
                               std::optional<std::array<int64_t, 2>> fallback) {
  if (!l.has(key)) {
    if (!fallback) l.fail(key, "missing");
    l.accept({key});
    return *fallback;
  }
  const json& v = l.raw(key);
  if (v.is_number()) {
    const int64_t x = l.integer(key, lo, hi);
    return {x, x};
  }
  const std::vector<int64_t> values = l.integers(key, lo, hi);
  if (values.size() != 2) l.fail(key, "expected an integer or a pair of integers, got " + std::to_string(values.size()) + " values");
  return {values[0], values[1]};
}

Shape int_array(const JsonFields& l, const std::string& key, int64_t lo, int64_t hi) {
  const json& v = l.raw(key);
  const Shape values = v.is_number() ? Shape{l.integer(key, lo, hi)} : l.integers(key, lo, hi);
  if (values.empty() || values.size() > kMaxRank) {
    l.fail(key, "expected 1 to " + std::to_string(kMaxRank) + " integers, got " + std::to_string(values.size()));
  }
  return values;
}

// torch's module arguments that this format does not implement: present only with the value
// that changes nothing.
void refuse_unless(const JsonFields& l, const std::string& key, const json& harmless) {
  l.accept({key});
  if (l.has(key) && l.raw(key) != harmless) l.fail(key, "only " + harmless.dump() + " is supported");
}

std::unique_ptr<Module> linear(const JsonFields& l) {
  auto m = std::make_unique<Linear>();
  m->in_features = l.integer("in_features", 1, kMaxFeatures);
  m->out_features = l.integer("out_features", 1, kMaxFeatures);
  if (l.boolean("bias", true)) m->bias = Tensor();
  return m;
}

std::unique_ptr<Module> conv2d(const JsonFields& l) {
  auto m = std::make_unique<Conv2d>();
  m->in_channels = l.integer("in_channels", 1, kMaxFeatures);
  m->out_channels = l.integer("out_channels", 1, kMaxFeatures);
  m->kernel_size = pair_of(l, "kernel_size", 1, kMaxKernel, std::nullopt);
  m->stride = pair_of(l, "stride", 1, kMaxKernel, std::array<int64_t, 2>{1, 1});
  if (l.has("padding") && l.raw("padding").is_string()) l.fail("padding", "only explicit padding (an integer or a pair) is supported");
  m->padding = pair_of(l, "padding", 0, kMaxKernel, std::array<int64_t, 2>{0, 0});
  m->dilation = pair_of(l, "dilation", 1, kMaxKernel, std::array<int64_t, 2>{1, 1});
  m->groups = l.integer("groups", 1, kMaxFeatures, 1);
  // torch: "in_channels must be divisible by groups", "out_channels must be divisible by groups".
  if (m->in_channels % m->groups != 0 || m->out_channels % m->groups != 0) {
    l.fail("groups", std::to_string(m->groups) + " does not divide in_channels " + std::to_string(m->in_channels) +
                         " and out_channels " + std::to_string(m->out_channels));
  }
  refuse_unless(l, "padding_mode", "zeros");
  if (l.boolean("bias", true)) m->bias = Tensor();
  return m;
}

std::unique_ptr<Module> layer_norm(const JsonFields& l) {
  auto m = std::make_unique<LayerNorm>();
  m->normalized_shape = int_array(l, "normalized_shape", 1, kMaxFeatures);
  m->eps = l.number("eps", 0.0, 1.0, 1e-5);
  m->elementwise_affine = l.boolean("elementwise_affine", true);
  if (m->elementwise_affine && l.boolean("bias", true)) m->bias = Tensor();
  return m;
}

std::unique_ptr<Module> embedding(const JsonFields& l) {
  auto m = std::make_unique<Embedding>();
  m->num_embeddings = l.integer("num_embeddings", 1, kMaxFeatures);
  m->embedding_dim = l.integer("embedding_dim", 1, kMaxFeatures);
  // padding_idx only matters to training; max_norm would rescale rows on lookup.
  if (l.has("padding_idx")) l.integer("padding_idx", -m->num_embeddings, m->num_embeddings - 1);
  refuse_unless(l, "max_norm", nullptr);
  return m;
}

template <class Pool>
void read_pool(const JsonFields& l, Pool& m) {
  m.kernel_size = pair_of(l, "kernel_size", 1, kMaxKernel, std::nullopt);
  // torch: stride defaults to the kernel size (None in the config).
  m.stride = pair_of(l, "stride", 1, kMaxKernel, m.kernel_size);
  m.padding = pair_of(l, "padding", 0, kMaxKernel, std::array<int64_t, 2>{0, 0});
  m.ceil_mode = l.boolean("ceil_mode", false);
  refuse_unless(l, "return_indices", false);
}

// torch: "pad should be at most half of effective kernel size"; the pooling op takes half the
// kernel size (the same without dilation).
void check_pool_padding(const JsonFields& l, const Pool2d& m) {
  for (size_t i = 0; i < 2; ++i) {
    if (m.padding[i] > m.kernel_size[i] / 2) {
      l.fail("padding", std::to_string(m.padding[i]) + " is more than half the kernel size " + std::to_string(m.kernel_size[i]));
    }
  }
}

std::unique_ptr<Module> max_pool(const JsonFields& l) {
  auto m = std::make_unique<MaxPool2d>();
  read_pool(l, *m);
  m->dilation = pair_of(l, "dilation", 1, kMaxKernel, std::array<int64_t, 2>{1, 1});
  check_pool_padding(l, *m);
  return m;
}

std::unique_ptr<Module> avg_pool(const JsonFields& l) {
  auto m = std::make_unique<AvgPool2d>();
  read_pool(l, *m);
  m->count_include_pad = l.boolean("count_include_pad", true);
  refuse_unless(l, "divisor_override", nullptr);
  check_pool_padding(l, *m);
  return m;
}

std::unique_ptr<Module> gelu(const JsonFields& l) {
  auto m = std::make_unique<GELU>();
  const std::string approximate = l.string("approximate", "none");
  if (approximate != "none" && approximate != "tanh") l.fail("approximate", "expected \"none\" or \"tanh\", got \"" + approximate + "\"");
  m->tanh_approximation = approximate == "tanh";
  return m;
}

// The dims are checked against the input's rank when the model runs (shape_check).
std::unique_ptr<Module> flatten(const JsonFields& l) {
  auto m = std::make_unique<Flatten>();
  m->start_dim = l.integer("start_dim", -int64_t{kMaxRank}, int64_t{kMaxRank}, 1);
  m->end_dim = l.integer("end_dim", -int64_t{kMaxRank}, int64_t{kMaxRank}, -1);
  return m;
}

template <class M>
std::unique_ptr<Module> parameterless(const JsonFields& l) {
  l.accept({"inplace"});  // ReLU(inplace=True) computes the same
  return std::make_unique<M>();
}

struct LayerType {
  LayerBuilder build;
  const char* keys;  // listed in messages about a key nobody reads
};

const std::map<std::string, LayerType>& layer_types() {
  static const std::map<std::string, LayerType> table = {
      {"Linear", {linear, "in_features, out_features, bias"}},
      {"Conv2d", {conv2d, "in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode"}},
      {"LayerNorm", {layer_norm, "normalized_shape, eps, elementwise_affine, bias"}},
      {"Embedding", {embedding, "num_embeddings, embedding_dim, padding_idx, max_norm"}},
      {"ReLU", {parameterless<ReLU>, "inplace"}},
      {"SiLU", {parameterless<SiLU>, "inplace"}},
      {"GELU", {gelu, "approximate"}},
      {"MaxPool2d", {max_pool, "kernel_size, stride, padding, dilation, ceil_mode, return_indices"}},
      {"AvgPool2d", {avg_pool, "kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override"}},
      {"Flatten", {flatten, "start_dim, end_dim"}},
  };
  return table;
}

std::string known_types() {
  std::string names;
  for (const auto& [name, type] : layer_types()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

std::unique_ptr<Module> build_layer(const JsonFields& layer) {
  const std::string type = layer.string("type");
  const auto it = layer_types().find(type);
  if (it == layer_types().end()) {
    layer.fail("type", "unknown layer type '" + type + "' (known: " + known_types() + ")");
  }
  std::unique_ptr<Module> module = it->second.build(layer);
  layer.reject_unconsumed(std::string("type, ") + it->second.keys);
  // Every element count derived from the weight's shape fits int64 with room to spare.
  const std::optional<int64_t> weight_numel = checked_numel(expected_weight_shape(*module));
  if (!weight_numel || *weight_numel > kMaxWeightElements) {
    layer.fail("type", "its weight " + shape_to_string(expected_weight_shape(*module)) + " would have more than 2^40 elements");
  }
  return module;
}

void check_top_level(const JsonFields& f) {
  const std::string architecture = f.string("architecture", "Sequential");
  if (architecture != "Sequential") f.fail("architecture", "'" + architecture + "' is not supported (only Sequential)");
  const std::string dtype = f.string("dtype", "float32");
  if (dtype != "float32" && dtype != "float16" && dtype != "bfloat16") {
    f.fail("dtype", "expected float32, float16 or bfloat16, got '" + dtype + "'");
  }
  f.optional_integer("num_classes", 1, kMaxFeatures);
  if (f.has("input_shape")) {
    const Shape input = int_array(f, "input_shape", 1, kMaxFeatures);
    if (!checked_numel(input)) f.fail("input_shape", "has more elements than fit in 64 bits");
  }
}

}  // namespace

std::unique_ptr<Module> build_from_config(const json& config, const std::string& source) {
  const JsonFields f(config, source);
  check_top_level(f);
  auto root = std::make_unique<Sequential>();
  const std::vector<JsonFields> layers = f.objects("layers", kMaxLayers);
  if (layers.empty()) f.fail("layers", "empty: a Sequential needs at least one layer");
  for (size_t i = 0; i < layers.size(); ++i) root->add_child(std::to_string(i), build_layer(layers[i]));
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
