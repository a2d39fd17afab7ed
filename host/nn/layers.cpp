#include "host/nn/layers.h"

#include "host/quanto_state_dict.h"

namespace pq::nn {

// quanto's _save_to_state_dict: a frozen module writes its QTensor's inner tensors, an unfrozen
// one its float weight; bias, input_scale and output_scale (weight dtype, 0-dim) always follow.
void WeightedLayer::append_state(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const {
  const std::string module = prefix.empty() ? prefix : prefix.substr(0, prefix.size() - 1);
  if (quant_state.frozen) {
    append_quantized_weight(out, module, *quant_state.frozen);
  } else if (weight.defined()) {
    out.emplace_back(prefix + "weight", weight);
  }
  if (bias) out.emplace_back(prefix + "bias", *bias);
  if (quant_state.quantized()) {
    const DType dtype = quant_state.frozen ? quant_state.frozen->float_dtype : weight.defined() ? weight.dtype() : DType::F32;
    append_activation_scales(out, module, dtype, quant_state.input_scale, quant_state.output_scale);
  }
}

}  // namespace pq::nn
