// What a model occupies on a device, for the CLI's reports.
#pragma once

#include <cstdint>

#include "host/nn/pretrained.h"

namespace pq::rt::model {

struct DeviceMemory {
  uint64_t weights = 0;   // model tensors uploaded (quantized codes and scales, float tensors)
  uint64_t kv_cache = 0;
  uint64_t scratch = 0;   // intermediates of the recorded plans
  uint64_t total() const { return weights + kv_cache + scratch; }
};

// Bytes of the model's tensors as they sit on a device: quantized weights as stored (scales
// and shifts as float32), float tensors in the model's dtype.
uint64_t device_weight_bytes(const nn::Model& model);

}  // namespace pq::rt::model
