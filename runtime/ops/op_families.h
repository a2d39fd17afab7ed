// One registration function per op family (one file each in runtime/ops/). Listed here
// explicitly: static-initializer registration would be dropped by the linker from a static library.
#pragma once

#include <functional>
#include <vector>

#include "runtime/op_registry.h"

namespace pq::rt {

using OpFamily = std::function<void(std::vector<OpDef>&)>;

void add_elementwise_ops(std::vector<OpDef>& ops);   // elementwise.cpp
void add_quantize_ops(std::vector<OpDef>& ops);      // quantize.cpp
void add_linear_ops(std::vector<OpDef>& ops);        // linear.cpp
void add_nn_ops(std::vector<OpDef>& ops);            // nn.cpp
void add_decode_ops(std::vector<OpDef>& ops);        // decode.cpp

inline std::vector<OpFamily> op_families() {
  return {add_elementwise_ops, add_quantize_ops, add_linear_ops, add_nn_ops, add_decode_ops};
}

}  // namespace pq::rt
