#include "runtime/ops/fused_linear_cases.h"

#include <string>

#include "runtime/ops/linear_layout.h"

namespace pq::rt::linear {

OpCase FusedLinearCaseInputs::start(int64_t n, int64_t k, int64_t m, DType dtype) {
  OpCase c{"[" + std::to_string(n) + "," + std::to_string(k) + "]x[" + std::to_string(m) + "] " + dtype_tag(dtype), {}, {}};
  c.inputs.push_back(random(dtype, {n, k}));
  return c;
}

Tensor FusedLinearCaseInputs::random(DType dtype, const Shape& shape, float lo, float hi) {
  return random_tensor(DType::F32, shape, seed_++, lo, hi).to(dtype);
}

OpCase FusedLinearCaseInputs::int4(int64_t n, int64_t k, int64_t m, DType dtype, int64_t group_size) {
  OpCase c = start(n, k, m, dtype);
  QuantizeOptions options;
  options.group_size = static_cast<int>(group_size);
  const QuantizedWeight w = quantize_weight(random(dtype, {m, k}), QType::QInt4, options);
  c.inputs.push_back(repack_blocked_codes(w.serialized_data(), m, k, group_size, 4));
  c.inputs.push_back(repack_blocked_groups(w.scale, m, k / group_size));
  c.inputs.push_back(repack_blocked_groups(w.shift, m, k / group_size));
  for (auto [name, value] : {std::pair{"linear", 1.0}, {"bits", 4.0}, {"layout", 1.0}}) c.params.set(name, value);
  c.params.set("rows", static_cast<double>(m));
  c.params.set("group_size", static_cast<double>(group_size));
  c.label += "qint4 G=" + std::to_string(group_size) + " blocked";
  return c;
}

OpCase FusedLinearCaseInputs::bytes(int64_t n, int64_t k, int64_t m, DType dtype, QType q) {
  OpCase c = start(n, k, m, dtype);
  const QuantizedWeight w = quantize_weight(random(dtype, {m, k}), q);
  c.inputs.push_back(w.serialized_data());
  c.inputs.push_back(w.scale);
  c.params.set("linear", 0);
  c.label += std::string(qtype_name(q));
  return c;
}

OpCase FusedLinearCaseInputs::float_w(int64_t n, int64_t k, int64_t m, DType dtype) {
  OpCase c = start(n, k, m, dtype);
  c.inputs.push_back(random(dtype, {m, k}));
  c.params.set("linear", 2);
  c.params.set("transpose_b", 1);
  c.label += "float W";
  return c;
}

void FusedLinearCaseInputs::add_bias(OpCase& c, int64_t m, DType dtype, bool bias) {
  if (c.params.get_int("linear") != 2) c.params.set("has_bias", bias);
  if (bias) c.inputs.push_back(random(dtype, {m}));
  c.label += bias ? " +bias" : "";
}

}  // namespace pq::rt::linear
