#include "runtime/model/device_memory.h"

#include <set>

#include "host/nn/layers.h"

namespace pq::rt::model {

uint64_t device_weight_bytes(const nn::Model& model) {
  uint64_t bytes = 0;
  std::set<const std::byte*> counted;  // a tied lm_head shares the embedding table's storage
  const auto elements = [&](const Tensor& t) {
    return counted.insert(t.raw_data()).second ? static_cast<uint64_t>(t.numel()) * dtype_size(model.dtype) : uint64_t{0};
  };
  for (const auto& [name, m] : nn::named_modules(static_cast<const nn::Module&>(*model.root))) {
    const nn::QuantState* q = m->quant();
    if (q && q->frozen) {
      const QuantizedWeight& w = *q->frozen;
      bytes += w.serialized_data().nbytes() + static_cast<uint64_t>(w.scale.numel() + (w.shift.defined() ? w.shift.numel() : 0)) * 4;
    } else if (const Tensor* w = m->float_weight()) {
      bytes += elements(*w);
    }
    if (const auto* layer = dynamic_cast<const nn::WeightedLayer*>(m); layer && layer->bias && layer->bias->defined()) {
      bytes += elements(*layer->bias);
    }
  }
  return bytes;
}

}  // namespace pq::rt::model
