// add, mul (with trailing-dims broadcast of b, as a bias), silu_mul (LlamaMLP's act_fn(gate) * up
// in one pass), swiglu (the same on the two halves of one tensor: a fused gate/up projection), relu, silu, gelu (erf and tanh), cast between float32/float16/bfloat16, copy. Float ops load their inputs in their dtype,
// compute in float32 and round the result into the output dtype once (torch's CPU semantics).
#include <cmath>
#include <limits>
#include <random>

#include "host/float_format.h"
#include "runtime/ops/op_families.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

enum class BinaryOp : uint32_t { Add = 0, Mul = 1, SiluMul = 2, SiluMulHalves = 3, SiluMulPairs = 4 };
enum class UnaryOp : uint32_t { Relu = 0, Silu = 1, GeluErf = 2, GeluTanh = 3, Identity = 4 };

// Field order is binary_params / unary_params (cl/elementwise.cl) and the push-constant blocks.
struct BinaryParams {
  uint32_t n, m, op, dtype;
};
struct UnaryParams {
  uint32_t n, op, in_dtype, out_dtype;
};

// What torch (2.x, CPU) gives at the special values, which these formulas reproduce in float32:
//   relu:      NaN -> NaN, -0 -> -0, -inf -> 0 (x < 0 ? 0 : x; not fmax, which drops the NaN);
//   silu:      +inf -> +inf, -inf -> NaN (-inf / inf), large negative -> -0;
//   gelu_erf:  -inf -> NaN (-inf * 0), +inf -> +inf, large negative -> -0. torch gives NaN at +inf
//              for float32 and bfloat16 tensors (its vectorized erf returns NaN there) but +inf
//              for float16 ones; we keep the limit, 0.5 * inf * (1 + erf(inf)) = inf;
//   gelu_tanh: -inf -> NaN, +inf -> +inf, large negative -> -0.
float apply(UnaryOp op, float v) {
  switch (op) {
    case UnaryOp::Relu: return v < 0.0f ? 0.0f : v;
    case UnaryOp::Silu: return v / (1.0f + std::exp(-v));
    case UnaryOp::GeluErf: return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
    case UnaryOp::GeluTanh: return 0.5f * v * (1.0f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    case UnaryOp::Identity: return v;
  }
  return v;
}

// silu(a) * b as the two ops compute it: silu rounded into the dtype, then the product.
float binary_apply(BinaryOp op, DType dtype, float a, float b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::SiluMul:
    case BinaryOp::SiluMulHalves:
    case BinaryOp::SiluMulPairs: return round_to_dtype(dtype, apply(UnaryOp::Silu, a)) * b;
  }
  return a;
}

bool is_trailing_shape(const Shape& b, const Shape& a) {
  return b.size() <= a.size() && std::equal(b.rbegin(), b.rend(), a.rbegin());
}

void expect_indexable(const std::string& op, const std::vector<TensorSpec>& in) {
  for (const auto& t : in) {
    if (shape_numel(t.shape) >= (int64_t{1} << 31)) op_error(op, "tensors must have fewer than 2^31 elements: " + describe({t}));
  }
}

// The kernels run one work-item per 32-bit word of the output (one float32, two 16-bit floats),
// so that in GLSL each word has a single writer.
KernelLaunch word_grid(std::string kernel, int64_t n, DType out) {
  const auto elements = static_cast<uint64_t>(n);
  return grid_1d(std::move(kernel), out == DType::F32 ? elements : (elements + 1) / 2);
}

OpDef binary_op(const std::string& name, BinaryOp op) {
  OpDef def;
  def.name = name;
  def.summary = name + (op == BinaryOp::SiluMul ? "(a, b) = silu(a) * b" : "(a, b)") +
                ": float32/float16/bfloat16 (one dtype for both and the output), b of a's shape or of its trailing "
                "dims (broadcast)";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams&) {
    if (in.size() != 2) op_error(name, "expects 2 inputs, got " + describe(in));
    expect_float_dtype(name, "a", in[0]);
    if (in[1].dtype != in[0].dtype) op_error(name, "a and b must have the same dtype: " + describe(in));
    if (!is_trailing_shape(in[1].shape, in[0].shape) || shape_numel(in[1].shape) == 0) {
      op_error(name, "b must have a's shape or its trailing dims: " + describe(in));
    }
    expect_indexable(name, in);
    return std::vector<TensorSpec>{in[0]};
  };
  def.reference = [op](const std::vector<Tensor>& in, const OpParams&) {
    const auto a = in[0].to_float_vector();
    const auto b = in[1].to_float_vector();
    std::vector<float> out(a.size());
    for (size_t i = 0; i < a.size(); ++i) out[i] = binary_apply(op, in[0].dtype(), a[i], b[i % b.size()]);
    return std::vector<Tensor>{Tensor::from_floats(in[0].dtype(), in[0].shape(), out)};
  };
  def.encode = [op](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams&) {
    KernelLaunch launch = word_grid("binary", out[0].numel(), out[0].dtype);
    launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), out[0].buffer.get()};
    launch.set_params(BinaryParams{static_cast<uint32_t>(out[0].numel()), static_cast<uint32_t>(in[1].numel()),
                                   static_cast<uint32_t>(op), float_dtype_code(out[0].dtype)});
    ctx.launch(launch);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 1;
    for (int64_t n : odd_sizes()) {
      cases.push_back({"[" + std::to_string(n) + "]", {random_tensor(DType::F32, {n}, seed++), random_tensor(DType::F32, {n}, seed++)}, {}});
    }
    cases.push_back({"[13,17] + [17]", {random_tensor(DType::F32, {13, 17}, seed++), random_tensor(DType::F32, {17}, seed++)}, {}});
    for (DType dtype : {DType::F16, DType::BF16}) {
      for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{1031}}) {
        cases.push_back({dtype_tag(dtype) + "[" + std::to_string(n) + "]",
                         {random_tensor(dtype, {n}, seed++), random_tensor(dtype, {n}, seed++)}, {}});
      }
      // Odd rows: the broadcast b restarts in the middle of a word.
      cases.push_back({dtype_tag(dtype) + "[13,17] + [17]", {random_tensor(dtype, {13, 17}, seed++), random_tensor(dtype, {17}, seed++)}, {}});
    }
    // NaN, ±inf and -0 against each other and against finite values (inf - inf, inf * 0, -0 + -0).
    for (DType dtype : float_dtypes()) {
      cases.push_back({dtype_tag(dtype) + "[37] special values",
                       {with_special_values(random_tensor(dtype, {37}, seed++), 3),
                        with_special_values(random_tensor(dtype, {37}, seed++), 2, 1)},
                       {}});
    }
    return cases;
  };
  def.checks = {OutputCheck{}};
  return def;
}

// swiglu(x[..., 2·c]) = silu(x[..., :c]) * x[..., c:]: silu_mul on the two halves of each row, as
// a gate/up projection fused into one linear leaves them; with pairs=1, silu(x[..., 0::2]) *
// x[..., 1::2], as linear_swiglu's rows leave them (gate and up rows interleaved). The binary
// kernel with a and b both x.
BinaryOp swiglu_mode(const OpParams& params) {
  const int64_t pairs = params.get_int("pairs", 0);
  if (pairs != 0 && pairs != 1) op_error("swiglu", "pairs must be 0 (halves) or 1 (interleaved), got " + std::to_string(params.get("pairs", 0)));
  return pairs ? BinaryOp::SiluMulPairs : BinaryOp::SiluMulHalves;
}

OpDef swiglu_op() {
  const std::string name = "swiglu";
  OpDef def;
  def.name = name;
  def.summary = "swiglu(x[..., 2c]) = silu(x[..., :c]) * x[..., c:], or with pairs=1 silu(x[..., 0::2]) * x[..., 1::2]: "
                "float32/float16/bfloat16, output [..., c] in x's dtype";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams& params) {
    swiglu_mode(params);
    if (in.size() != 1) op_error(name, "expects 1 input, got " + describe(in));
    expect_float_dtype(name, "x", in[0]);
    if (in[0].shape.empty() || in[0].shape.back() < 2 || in[0].shape.back() % 2 != 0) {
      op_error(name, "x's last dim must be even and at least 2 (gate and up values): " + describe(in));
    }
    expect_indexable(name, in);
    Shape out = in[0].shape;
    out.back() /= 2;
    return std::vector<TensorSpec>{{in[0].dtype, out}};
  };
  def.reference = [](const std::vector<Tensor>& in, const OpParams& params) {
    const BinaryOp mode = swiglu_mode(params);
    const auto x = in[0].to_float_vector();
    Shape shape = in[0].shape();
    const auto columns = static_cast<size_t>(shape.back() / 2);
    shape.back() /= 2;
    std::vector<float> out(x.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
      const size_t gate = mode == BinaryOp::SiluMulPairs ? 2 * i : i / columns * 2 * columns + i % columns;
      const size_t up = mode == BinaryOp::SiluMulPairs ? gate + 1 : gate + columns;
      out[i] = binary_apply(mode, in[0].dtype(), x[gate], x[up]);
    }
    return std::vector<Tensor>{Tensor::from_floats(in[0].dtype(), shape, out)};
  };
  def.encode = [](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                  const OpParams& params) {
    KernelLaunch launch = word_grid("binary", out[0].numel(), out[0].dtype);
    launch.buffers = {in[0].buffer.get(), in[0].buffer.get(), out[0].buffer.get()};
    launch.set_params(BinaryParams{static_cast<uint32_t>(out[0].numel()), static_cast<uint32_t>(out[0].shape.back()),
                                   static_cast<uint32_t>(swiglu_mode(params)), float_dtype_code(out[0].dtype)});
    ctx.launch(launch);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 300;
    for (DType dtype : float_dtypes()) {
      for (double pairs : {0.0, 1.0}) {
        const std::string tag = dtype_tag(dtype) + (pairs ? "pairs " : "");
        // Odd halves: in 16-bit dtypes the up half, and every other row, starts inside a word.
        for (const Shape& shape : {Shape{2}, Shape{1, 3072}, Shape{5, 26}, Shape{3, 2, 2 * 1031}}) {
          cases.push_back({tag + shape_to_string(shape), {random_tensor(dtype, shape, seed++, -8.0f, 8.0f)}, {{"pairs", pairs}}});
        }
        cases.push_back({tag + "[7,38] special values", {with_special_values(random_tensor(dtype, {7, 38}, seed++), 3)}, {{"pairs", pairs}}});
      }
    }
    return cases;
  };
  def.checks = {OutputCheck{}};
  return def;
}

// The kernel of unary ops and cast.
void launch_unary(EncodeContext& ctx, const DeviceTensor& x, const DeviceTensor& out, UnaryOp op) {
  KernelLaunch launch = word_grid("unary", out.numel(), out.dtype);
  launch.buffers = {x.buffer.get(), out.buffer.get()};
  launch.set_params(UnaryParams{static_cast<uint32_t>(out.numel()), static_cast<uint32_t>(op), float_dtype_code(x.dtype),
                                float_dtype_code(out.dtype)});
  ctx.launch(launch);
}

std::vector<Tensor> unary_reference(const Tensor& x, UnaryOp op, DType out_dtype) {
  auto v = x.to_float_vector();
  for (auto& e : v) e = apply(op, e);
  return {Tensor::from_floats(out_dtype, x.shape(), v)};
}

OpDef unary_op(const std::string& name, UnaryOp op) {
  OpDef def;
  def.name = name;
  def.summary = name + "(x): float32/float16/bfloat16, elementwise, output in x's dtype";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams&) {
    if (in.size() != 1) op_error(name, "expects 1 input, got " + describe(in));
    expect_float_dtype(name, "x", in[0]);
    expect_indexable(name, in);
    return std::vector<TensorSpec>{in[0]};
  };
  def.reference = [op](const std::vector<Tensor>& in, const OpParams&) { return unary_reference(in[0], op, in[0].dtype()); };
  def.encode = [op](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams&) {
    launch_unary(ctx, in[0], out[0], op);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 100;
    for (int64_t n : odd_sizes()) cases.push_back({"[" + std::to_string(n) + "]", {random_tensor(DType::F32, {n}, seed++, -6.0f, 6.0f)}, {}});
    for (DType dtype : {DType::F16, DType::BF16}) {
      for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{1031}}) {
        cases.push_back({dtype_tag(dtype) + "[" + std::to_string(n) + "]", {random_tensor(dtype, {n}, seed++, -6.0f, 6.0f)}, {}});
      }
    }
    // Extremes: exp overflow in silu/gelu must give the limit, not NaN; then NaN, ±inf, -0.
    for (DType dtype : float_dtypes()) {
      cases.push_back({dtype_tag(dtype) + "extremes",
                       {Tensor::from_floats(dtype, {7}, {-100.0f, -20.0f, -0.0f, 0.0f, 20.0f, 100.0f, -1e4f})}, {}});
      cases.push_back({dtype_tag(dtype) + "[31] special values", {with_special_values(random_tensor(dtype, {31}, seed++, -6.0f, 6.0f), 2)}, {}});
    }
    return cases;
  };
  // relu selects, it does not round: bit for bit (-0 stays -0).
  def.checks = {OutputCheck{.exact = op == UnaryOp::Relu}};
  return def;
}

// Every 16-bit code of float16/bfloat16 (NaN payloads included); for float32, 65537 random bit
// patterns (every exponent, subnormals, NaN payloads) and the neighbours of float16's and
// bfloat16's rounding boundaries.
Tensor bit_patterns(DType dtype) {
  if (dtype != DType::F32) {
    std::vector<uint16_t> codes(65536);
    for (size_t c = 0; c < codes.size(); ++c) codes[c] = static_cast<uint16_t>(c);
    return Tensor::from_values(dtype, {65536}, codes);
  }
  std::mt19937 rng(160);
  std::vector<uint32_t> bits(65537);
  for (auto& b : bits) b = static_cast<uint32_t>(rng());
  // Ties and their neighbours: float16 drops 13 mantissa bits (normal) or more (subnormal),
  // bfloat16 drops 16; odd and even kept parts, at exponents across both ranges.
  for (size_t i = 0; i < 4096; ++i) {
    const uint32_t exponent = static_cast<uint32_t>(98 + i % 50) << 23;  // 2^-29 .. 2^20
    const uint32_t half = i % 2 ? 0x1000u : 0x8000u;
    const uint32_t kept = static_cast<uint32_t>(rng()) & (half == 0x1000u ? 0x7FE000u : 0x7F0000u);
    bits[i] = exponent | kept | (half + static_cast<uint32_t>(i / 2 % 3) - 1u);
  }
  return Tensor::from_values(DType::F32, {65537}, bits);
}

// cast(x; dtype): float32/float16/bfloat16 into another of them, round to nearest even, as
// torch's .to(): NaN stays NaN, overflow gives ±inf, f16 subnormals are kept.
OpDef cast_op() {
  const std::string name = "cast";
  OpDef def;
  def.name = name;
  def.summary = "cast(x; dtype): float32/float16/bfloat16 -> dtype (0 float32, 1 float16, 2 bfloat16), round to "
                "nearest even (NaN stays NaN, overflow -> ±inf)";
  def.infer = [name](const std::vector<TensorSpec>& in, const OpParams& p) {
    if (in.size() != 1) op_error(name, "expects 1 input, got " + describe(in));
    expect_float_dtype(name, "x", in[0]);
    if (!p.has("dtype")) op_error(name, "needs parameter dtype (0 float32, 1 float16, 2 bfloat16)");
    expect_indexable(name, in);
    return std::vector<TensorSpec>{{float_dtype_param(name, p, "dtype", DType::F32), in[0].shape}};
  };
  def.reference = [name](const std::vector<Tensor>& in, const OpParams& p) {
    return unary_reference(in[0], UnaryOp::Identity, float_dtype_param(name, p, "dtype", DType::F32));
  };
  def.encode = [](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams&) {
    launch_unary(ctx, in[0], out[0], UnaryOp::Identity);
  };
  def.cases = [] {
    std::vector<OpCase> cases;
    uint32_t seed = 150;
    // float32 inputs cover every rounding case of the narrow formats: ties (exact halves of
    // float16 and bfloat16 ulps), overflow to inf, float16 subnormals and underflow to ±0.
    constexpr float kInf = std::numeric_limits<float>::infinity();
    const std::vector<float> edges = {65504.0f, 65519.0f, 65520.0f, -65536.0f, 3.4e38f, -3.39e38f, 6.0e-8f, 2.9e-8f,
                                      -3.0e-8f, 1e-40f, -1e-45f, 1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 1.0f + 1.0f / 256,
                                      1.0f + 3.0f / 256, -(1.0f + 1.0f / 256), std::numeric_limits<float>::quiet_NaN(),
                                      kInf, -kInf, -0.0f, 0.5f};
    const Tensor edge_values = Tensor::from_floats(DType::F32, {static_cast<int64_t>(edges.size())}, edges);
    for (DType from : float_dtypes()) {
      for (DType to : float_dtypes()) {
        if (from == to && from != DType::F32) continue;
        const OpParams params{{"dtype", static_cast<double>(float_dtype_code(to))}};
        const std::string label = std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to));
        for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{1031}}) {
          cases.push_back({label + " [" + std::to_string(n) + "]", {random_tensor(from, {n}, seed++, -70000.0f, 70000.0f)}, params});
        }
        cases.push_back({label + " edges and special values", {edge_values.to(from)}, params});
        cases.push_back({label + " every bit pattern", {bit_patterns(from)}, params});
      }
    }
    return cases;
  };
  def.checks = {OutputCheck{.exact = true}};
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
                                {"f32[65537]", {random_tensor(DType::F32, {65537}, 9)}, {}},
                                {"f32[5] special values", {with_special_values(random_tensor(DType::F32, {5}, 10), 1)}, {}},
                                {"f16[6] special values", {with_special_values(random_tensor(DType::F16, {6}, 11), 1)}, {}},
                                {"bf16[6] special values", {with_special_values(random_tensor(DType::BF16, {6}, 12), 1)}, {}}};
  };
  def.checks = {OutputCheck{.exact = true}};
  return def;
}

}  // namespace

void add_elementwise_ops(std::vector<OpDef>& ops) {
  ops.push_back(binary_op("add", BinaryOp::Add));
  ops.push_back(binary_op("mul", BinaryOp::Mul));
  ops.push_back(binary_op("silu_mul", BinaryOp::SiluMul));
  ops.push_back(swiglu_op());
  ops.push_back(unary_op("relu", UnaryOp::Relu));
  ops.push_back(unary_op("silu", UnaryOp::Silu));
  ops.push_back(unary_op("gelu_erf", UnaryOp::GeluErf));
  ops.push_back(unary_op("gelu_tanh", UnaryOp::GeluTanh));
  ops.push_back(cast_op());
  ops.push_back(copy_op());
}

}  // namespace pq::rt
