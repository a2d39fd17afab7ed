// add, mul (with trailing-dims broadcast of b, as a bias), relu, silu, gelu (erf and tanh), copy.
#include <cmath>

#include "runtime/ops/op_families.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

enum class BinaryOp : uint32_t { Add = 0, Mul = 1 };
enum class UnaryOp : uint32_t { Relu = 0, Silu = 1, GeluErf = 2, GeluTanh = 3 };

struct BinaryParams {
  uint32_t n, m, op;
};
struct UnaryParams {
  uint32_t n, op;
};

float apply(UnaryOp op, float v) {
  switch (op) {
    case UnaryOp::Relu: return std::max(v, 0.0f);
    case UnaryOp::Silu: return v / (1.0f + std::exp(-v));
    case UnaryOp::GeluErf: return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
    case UnaryOp::GeluTanh: return 0.5f * v * (1.0f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
  }
  return v;
}

bool is_trailing_shape(const Shape& b, const Shape& a) {
  return b.size() <= a.size() && std::equal(b.rbegin(), b.rend(), a.rbegin());
}

OpDef binary_op(const std::string& name, BinaryOp op) {
  OpDef def;
  def.name = name;
  def.summary = name + "(a, b): float32, b of a's shape or of its trailing dims (broadcast)";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams&) {
    expect_inputs(name, in, {DType::F32, DType::F32});
    if (!is_trailing_shape(in[1].shape, in[0].shape) || shape_numel(in[1].shape) == 0) {
      op_error(name, "b must have a's shape or its trailing dims: " + describe(in));
    }
    return std::vector<TensorSpec>{in[0]};
  };
  def.reference = [op](const std::vector<Tensor>& in, const OpParams&) {
    const auto a = in[0].to_float_vector();
    const auto b = in[1].to_float_vector();
    std::vector<float> out(a.size());
    for (size_t i = 0; i < a.size(); ++i) out[i] = op == BinaryOp::Add ? a[i] + b[i % b.size()] : a[i] * b[i % b.size()];
    return std::vector<Tensor>{Tensor::from_floats(DType::F32, in[0].shape(), out)};
  };
  def.encode = [op](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams&) {
    KernelLaunch launch = grid_1d("binary_f32", static_cast<uint64_t>(out[0].numel()));
    launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), out[0].buffer.get()};
    launch.set_params(BinaryParams{static_cast<uint32_t>(out[0].numel()), static_cast<uint32_t>(in[1].numel()), static_cast<uint32_t>(op)});
    ctx.launch(launch);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 1;
    for (int64_t n : odd_sizes()) {
      cases.push_back({"[" + std::to_string(n) + "]", {random_tensor(DType::F32, {n}, seed++), random_tensor(DType::F32, {n}, seed++)}, {}});
    }
    cases.push_back({"[13,17] + [17]", {random_tensor(DType::F32, {13, 17}, seed++), random_tensor(DType::F32, {17}, seed++)}, {}});
    return cases;
  };
  def.checks = {OutputCheck{}};
  return def;
}

OpDef unary_op(const std::string& name, UnaryOp op) {
  OpDef def;
  def.name = name;
  def.summary = name + "(x): float32, elementwise";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams&) {
    expect_inputs(name, in, {DType::F32});
    return std::vector<TensorSpec>{in[0]};
  };
  def.reference = [op](const std::vector<Tensor>& in, const OpParams&) {
    auto x = in[0].to_float_vector();
    for (auto& v : x) v = apply(op, v);
    return std::vector<Tensor>{Tensor::from_floats(DType::F32, in[0].shape(), x)};
  };
  def.encode = [op](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams&) {
    KernelLaunch launch = grid_1d("unary_f32", static_cast<uint64_t>(out[0].numel()));
    launch.buffers = {in[0].buffer.get(), out[0].buffer.get()};
    launch.set_params(UnaryParams{static_cast<uint32_t>(out[0].numel()), static_cast<uint32_t>(op)});
    ctx.launch(launch);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 100;
    for (int64_t n : odd_sizes()) cases.push_back({"[" + std::to_string(n) + "]", {random_tensor(DType::F32, {n}, seed++, -6.0f, 6.0f)}, {}});
    // Extremes: exp overflow in silu/gelu must give the limit, not NaN.
    cases.push_back({"extremes", {Tensor::from_floats(DType::F32, {6}, {-100.0f, -20.0f, -0.0f, 0.0f, 20.0f, 100.0f})}, {}});
    return cases;
  };
  def.checks = {OutputCheck{}};
  return def;
}

struct CopyParams {
  uint32_t words;
};

// A copy of any tensor; the kernel moves whole words, which the byte-exact check and the
// guard bytes keep honest for tensors whose size is not a multiple of 4.
OpDef copy_op() {
  OpDef def;
  def.name = "copy";
  def.summary = "copy(x): any dtype, byte for byte";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams&) {
    if (in.size() != 1) op_error("copy", "expects 1 input, got " + std::to_string(in.size()));
    if (shape_numel(in[0].shape) * dtype_size(in[0].dtype) % 4 != 0) {
      op_error("copy", "copies whole 32-bit words; " + describe(in) + " is not a multiple of 4 bytes");
    }
    return std::vector<TensorSpec>{in[0]};
  };
  def.reference = [](const std::vector<Tensor>& in, const OpParams&) { return std::vector<Tensor>{in[0].clone()}; };
  def.encode = [](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams&) {
    const auto words = static_cast<uint32_t>(out[0].nbytes() / 4);
    KernelLaunch launch = grid_1d("copy_words", words);
    launch.buffers = {in[0].buffer.get(), out[0].buffer.get()};
    launch.set_params(CopyParams{words});
    ctx.launch(launch);
  };
  def.cases = [] {
    return std::vector<OpCase>{{"f32[7]", {random_tensor(DType::F32, {7}, 7)}, {}},
                                {"u8[4,257]", {random_tensor(DType::U8, {4, 257}, 8, 0.0f, 255.0f)}, {}},
                                {"f32[65537]", {random_tensor(DType::F32, {65537}, 9)}, {}}};
  };
  def.checks = {OutputCheck{.exact = true}};
  return def;
}

}  // namespace

void add_elementwise_ops(std::vector<OpDef>& ops) {
  ops.push_back(binary_op("add", BinaryOp::Add));
  ops.push_back(binary_op("mul", BinaryOp::Mul));
  ops.push_back(unary_op("relu", UnaryOp::Relu));
  ops.push_back(unary_op("silu", UnaryOp::Silu));
  ops.push_back(unary_op("gelu_erf", UnaryOp::GeluErf));
  ops.push_back(unary_op("gelu_tanh", UnaryOp::GeluTanh));
  ops.push_back(copy_op());
}

}  // namespace pq::rt
