// The linear op family: quantized-weight linear layers (linear_qbytes, linear_qbits), int8
// activations × int8 weights (linear_w8a8, matmul_i8_i32), and float matmuls (matmul_f32,
// bmm_f32), fused_linear (a projection and the add_rmsnorm after it), linear_swiglu (a gated
// MLP's gate/up projection and its swiglu) and linear_rope_kv_write (an attention's q/k/v
// projection and its rope_kv_write). Kernels: cl/linear.cl and shaders/linear*.comp;
// shared launch code in linear_common.
#include "runtime/ops/linear_common.h"
#include "runtime/ops/op_families.h"

namespace pq::rt {

void add_linear_ops(std::vector<OpDef>& ops) {
  linear::add_weight_only_linear_ops(ops);
  linear::add_int8_linear_ops(ops);
  linear::add_float_matmul_ops(ops);
  linear::add_fused_linear_ops(ops);
  linear::add_linear_swiglu_ops(ops);
  linear::add_linear_rope_kv_write_ops(ops);
}

}  // namespace pq::rt
