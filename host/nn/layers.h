// The layers a config.json may name, one class per torch module, with torch's parameters.
// Quantizable layers (Linear, Conv2d, LayerNorm, Embedding) carry a QuantState.
#pragma once

#include <array>
#include <optional>

#include "host/nn/module.h"

namespace pq::nn {

// Shared by the layers that own a weight (and maybe a bias) and can be quantized.
class WeightedLayer : public Module {
 public:
  Tensor weight;                // float; kept after freeze() only until the quantized one replaces it
  std::optional<Tensor> bias;   // never quantized
  QuantState quant_state;

  QuantState* quant() override { return &quant_state; }
  const Tensor* float_weight() const override { return weight.defined() ? &weight : nullptr; }
  void append_state(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const override;
};

class Linear final : public WeightedLayer {
 public:
  int64_t in_features = 0, out_features = 0;
  Linear() { quant_state.quantize_input = true; }
  std::string_view type() const override { return "Linear"; }
  bool accepts_weight_quantization() const override { return true; }
  bool accepts_activation_quantization() const override { return true; }
};

class Conv2d final : public WeightedLayer {
 public:
  int64_t in_channels = 0, out_channels = 0, groups = 1;
  std::array<int64_t, 2> kernel_size{1, 1}, stride{1, 1}, padding{0, 0}, dilation{1, 1};
  std::string_view type() const override { return "Conv2d"; }
  bool accepts_weight_quantization() const override { return true; }
  bool accepts_activation_quantization() const override { return true; }
};

// quanto's QLayerNorm quantizes its output only; its weight stays float.
class LayerNorm final : public WeightedLayer {
 public:
  Shape normalized_shape;
  double eps = 1e-5;
  bool elementwise_affine = true;
  std::string_view type() const override { return "LayerNorm"; }
  bool accepts_activation_quantization() const override { return true; }
};

// quanto has no QEmbedding: an embedding table is never quantized (its non-strict requantize
// would leave a quantized table uninitialised), so a model quantized here loads there.
class Embedding final : public WeightedLayer {
 public:
  int64_t num_embeddings = 0, embedding_dim = 0;
  std::string_view type() const override { return "Embedding"; }
};

// Llama's RMSNorm (LlamaRMSNorm, Qwen2RMSNorm, ...): weight only, never replaced by quanto.
class RMSNorm final : public WeightedLayer {
 public:
  int64_t dim = 0;
  double eps = 1e-6;
  std::string_view type() const override { return "RMSNorm"; }
};

// A module that only groups children (LlamaDecoderLayer, BertAttention, a ModuleList, ...). It
// keeps torch's class name: messages use it, and calibration's streamline acts on the quantized
// children of each such parent when its forward ends, as quanto's hooks do.
class Container final : public Module {
 public:
  explicit Container(std::string type) : type_(std::move(type)) {}
  std::string_view type() const override { return type_; }

 private:
  std::string type_;
};

class ReLU final : public Module {
 public:
  std::string_view type() const override { return "ReLU"; }
};

class SiLU final : public Module {
 public:
  std::string_view type() const override { return "SiLU"; }
};

class GELU final : public Module {
 public:
  bool tanh_approximation = false;  // torch's approximate="tanh"
  std::string_view type() const override { return "GELU"; }
};

class Pool2d : public Module {
 public:
  std::array<int64_t, 2> kernel_size{1, 1}, stride{1, 1}, padding{0, 0};
  bool ceil_mode = false;
};

class MaxPool2d final : public Pool2d {
 public:
  std::array<int64_t, 2> dilation{1, 1};
  std::string_view type() const override { return "MaxPool2d"; }
};

class AvgPool2d final : public Pool2d {
 public:
  bool count_include_pad = true;
  std::string_view type() const override { return "AvgPool2d"; }
};

class Flatten final : public Module {
 public:
  int64_t start_dim = 1, end_dim = -1;
  std::string_view type() const override { return "Flatten"; }
};

}  // namespace pq::nn
