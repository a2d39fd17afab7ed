// linear_swiglu: a gated MLP's gate and up projections as one linear whose rows interleave
// them (row 2i: gate row i, row 2i + 1: up row i), and the swiglu after it:
//   linear_swiglu(the linear's inputs...) -> silu(z[..., 0::2]) · z[..., 1::2],  z = the linear's output,
// which is swiglu (pairs=1) of the linear. Where the specialised kernel for blocked int4 weights
// applies (k split 1, float32 x and y; on OpenCL n = 1), it is one launch: a tile's rows are
// consecutive, so one invocation finishes gate and up rows i together and writes column i
// (shaders/linear_gemv.comp, EPILOGUE_SWIGLU; cl/linear_gemv.cl, linear_q4_swiglu), without the
// atomics or the second pass an epilogue over [gate; up] halves needed (measured slower on
// lavapipe, README). Elsewhere the linear's and swiglu's launches run one after the other. The
// reference is the two ops' references in turn; the one launch gives their bits (the same
// formulas: silu in shaders/common.glsl and cl/common.cl).
// Parameters: linear (0 linear_qbytes, 1 linear_qbits, 2 matmul_f32 with transpose_b=1); the
// rest go to the linear.
#include <stdexcept>

#include "runtime/ops/fused_linear_cases.h"
#include "runtime/ops/linear_common.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt::linear {
namespace {

const std::string kName = "linear_swiglu";
const OpParams kPairs{{"pairs", 1}};

std::vector<TensorSpec> infer(const std::vector<TensorSpec>& in, const OpParams& params) {
  const std::vector<TensorSpec> z = infer_fused_part(kName, fused_linear_part(kName, params), in, params);
  const TensorSpec& y = z.front();
  if (y.shape.empty() || y.shape.back() % 2 != 0) {
    op_error(kName, "the linear's rows must be gate and up rows interleaved (an even count), got output " + describe({y}));
  }
  return infer_fused_part(kName, "swiglu", {y}, kPairs);
}

std::vector<Tensor> reference(const std::vector<Tensor>& in, const OpParams& params) {
  const std::vector<Tensor> z = find_op(fused_linear_part(kName, params)).reference(in, params);
  return find_op("swiglu").reference({z.front()}, kPairs);
}

void encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
            const OpParams& params) {
  const std::string linear = fused_linear_part(kName, params);
  const DeviceTensor& y = out[0];
  const std::vector<TensorSpec> z_spec = find_op(linear).infer(specs_of(in), params);
  const DeviceTensor z{nullptr, z_spec.front().dtype, z_spec.front().shape};
  LinearJob job = fused_linear_job(linear, in, {DeviceTensor{y.buffer, z.dtype, z.shape}}, params);
  job.params.y_row_stride = job.params.m / 2;
  if (launch_linear_with_epilogue(ctx, job, LinearEpilogue::Swiglu, {})) return;
  const DeviceTensor scratch{ctx.scratch_buffer(std::max<size_t>(4, z.nbytes())), z.dtype, z.shape};
  find_op(linear).encode(ctx, in, {scratch}, params);
  find_op("swiglu").encode(ctx, {scratch}, out, kPairs);
}

// ---- conformance cases ------------------------------------------------------------------------

// The linear's inputs, then its bias.
struct CaseBuilder {
  FusedLinearCaseInputs linear{9300};
  std::vector<OpCase> cases;

  void int4(int64_t n, int64_t k, int64_t m, DType dtype, int64_t group_size, bool bias) {
    finish(linear.int4(n, k, m, dtype, group_size), m, dtype, bias);
  }
  void bytes(int64_t n, int64_t k, int64_t m, DType dtype, QType q, bool bias) {
    finish(linear.bytes(n, k, m, dtype, q), m, dtype, bias);
  }
  void float_w(int64_t n, int64_t k, int64_t m, DType dtype) { finish(linear.float_w(n, k, m, dtype), m, dtype, false); }

  void finish(OpCase c, int64_t m, DType dtype, bool bias) {
    linear.add_bias(c, m, dtype, bias);
    cases.push_back(std::move(c));
  }

  // NaN, ±inf and -0 in x: whole columns of z turn NaN, gate and up alike.
  void special() {
    OpCase& c = cases.back();
    c.inputs.front() = with_special_values(c.inputs.front(), 37, 3);
    c.label += " special values in x";
  }
};

std::vector<OpCase> cases() {
  CaseBuilder b;
  // The one launch: n = 1 (also on OpenCL), 2, 3 (GEMV tiles of 8, 4, 2 rows), 6 (the 1 × 8
  // tile made 2 × 8), 9 and 20 (the GEMM's 4 × 4 tiles, 20 past one tile of x); m = 2·13 (rows
  // past the 8-row groups' padding), 2·291 (slots past one workgroup); group sizes 32, 64, 128.
  b.int4(1, 576, 3072, DType::F32, 64, false);
  b.int4(1, 64, 26, DType::F32, 32, true);
  b.int4(2, 128, 582, DType::F32, 128, false);
  b.int4(3, 256, 40, DType::F32, 64, true);
  b.int4(6, 96, 26, DType::F32, 32, false);
  b.int4(9, 64, 18, DType::F32, 32, true);
  b.int4(20, 192, 34, DType::F32, 64, false);
  // Two launches: int8 and float8 codes, float W, k % 16 != 0 (the generic kernels), and
  // float16/bfloat16 models.
  b.bytes(1, 160, 22, DType::F32, QType::QInt8, true);
  b.bytes(5, 48, 14, DType::F32, QType::QFloat8_E4M3FN, false);
  b.bytes(2, 40, 6, DType::F32, QType::QInt8, false);
  b.float_w(1, 96, 1030, DType::F32);
  b.float_w(4, 32, 8, DType::F32);
  for (DType d : kNarrowFloatDTypes) {
    b.int4(1, 256, 10, d, 128, false);
    b.int4(12, 64, 18, d, 32, true);
    b.bytes(3, 64, 6, d, QType::QInt8, true);
  }
  b.int4(2, 256, 10, DType::F32, 128, false);
  b.special();
  b.int4(1, 256, 10, DType::F32, 128, true);  // OpenCL's one launch
  b.special();
  b.int4(11, 64, 26, DType::F32, 32, true);
  b.special();
  b.bytes(1, 64, 6, DType::F32, QType::QInt8, true);
  b.special();
  return b.cases;
}

}  // namespace

void add_linear_swiglu_ops(std::vector<OpDef>& ops) {
  OpDef def;
  def.name = kName;
  def.summary = "linear_swiglu(the linear's inputs...) -> silu(z[..., 0::2]) · z[..., 1::2] of the linear's output z (gate "
                "and up rows interleaved): linear_qbytes (linear=0), linear_qbits (1) or matmul_f32 against Wᵀ (2), then "
                "swiglu (pairs=1); one launch for blocked int4 weights (k split 1, float32; OpenCL: n = 1), else two";
  def.infer = infer;
  def.reference = reference;
  def.encode = encode;
  def.cases = cases;
  def.checks = {OutputCheck{}};
  def.reads_tiers = true;
  ops.push_back(std::move(def));
}

}  // namespace pq::rt::linear
