// fused_linear: a decoder's projection (linear_qbytes, linear_qbits, or matmul_f32 against Wᵀ)
// and the residual add with the RMSNorm after it (add_rmsnorm) as one op:
//   fused_linear(the linear's inputs..., h, norm weight, counter) -> (h + y, rmsnorm(h + y) · weight)
// with y the linear's output. `counter` is int32 [1], zero; the op leaves it zero. Where the
// specialised GEMV applies (a CPU device, n ≤ 8, float32 x and y, a weight format with its own
// kernel; on OpenCL n = 1 and int4, int8 or float weights), it is one launch: the last invocation to
// finish its rows of y computes the add and the norm alone (shaders/linear_gemv.comp, EPILOGUE;
// cl/linear_gemv.cl, linear_*_add_rmsnorm), since on lavapipe every launch costs 40–100 µs of
// llvmpipe's thread hand-off whatever it computes, on pocl 5–9 µs around it, and a decoder
// layer has two such norms. Elsewhere the linear's and add_rmsnorm's launches run one after the
// other (GPUs launch in microseconds, and one invocation's rows would stall them).
// Forming x inside the next projection instead (the norm as a prologue) was measured slower on
// lavapipe: every SIMD chunk repeats the work on x (1.4 ms against 0.45 ms for m=3072, k=576),
// and a shared-memory tile needs barriers that cost llvmpipe more than the launch.
// The reference is the two ops' references in turn, and the epilogue sums the squares in
// add_rmsnorm's order: the op gives the bits of the two ops it replaces.
// Parameters: linear (0 linear_qbytes, 1 linear_qbits, 2 matmul_f32 with transpose_b=1), eps;
// the rest go to the linear.
#include <stdexcept>

#include "runtime/ops/fused_linear_cases.h"
#include "runtime/ops/linear_common.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt::linear {
namespace {

const std::string kName = "fused_linear";
constexpr size_t kTailInputs = 3;  // h, the norm's weight, the counter

// "0 (linear_qbytes), 1 (linear_qbits) or 2 (matmul_f32)", from kFusedLinearOps.
std::string linear_choices() {
  std::string text;
  const size_t count = std::size(kFusedLinearOps);
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) text += i + 1 == count ? " or " : ", ";
    text += std::to_string(i) + " (" + std::string(kFusedLinearOps[i]) + ")";
  }
  return text;
}

std::string linear_of(const OpParams& params) { return fused_linear_part(kName, params); }

OpParams norm_params(const OpParams& params) {
  if (!params.has("eps")) op_error(kName, "needs parameter eps (add_rmsnorm's)");
  return {{"eps", params.get("eps")}};
}

template <class T>
std::vector<T> linear_inputs(const std::vector<T>& in) {
  if (in.size() <= kTailInputs) op_error(kName, "expects the linear's inputs, then h, the norm's weight and the counter");
  return {in.begin(), in.end() - kTailInputs};
}
template <class T>
std::vector<T> norm_inputs(const std::vector<T>& in, const T& y) {
  return {in[in.size() - 3], y, in[in.size() - 2]};
}

void check_counter(const TensorSpec& counter) {
  if (counter.dtype != DType::I32 || shape_numel(counter.shape) != 1) {
    op_error(kName, "the counter must be int32 [1] (zero), got " + describe({counter}));
  }
}

std::vector<TensorSpec> infer_part(const std::string& op, const std::vector<TensorSpec>& in, const OpParams& params) {
  return infer_fused_part(kName, op, in, params);
}

std::vector<TensorSpec> infer(const std::vector<TensorSpec>& in, const OpParams& params) {
  const std::vector<TensorSpec> y = infer_part(linear_of(params), linear_inputs(in), params);
  check_counter(in.back());
  return infer_part("add_rmsnorm", norm_inputs(in, y.front()), norm_params(params));
}

std::vector<Tensor> reference(const std::vector<Tensor>& in, const OpParams& params) {
  const std::vector<Tensor> y = find_op(linear_of(params)).reference(linear_inputs(in), params);
  return find_op("add_rmsnorm").reference(norm_inputs(in, y.front()), norm_params(params));
}

// One launch where the GEMV can: y goes into h + y's buffer, which the epilogue then updates.
bool encode_fused(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                  const OpParams& params) {
  const DeviceTensor& norm_weight = in[in.size() - 2];
  LinearJob job = fused_linear_job(linear_of(params), linear_inputs(in), {out[0]}, params);
  job.params.norm_eps = static_cast<float>(params.get("eps"));
  job.params.norm_format = static_cast<uint32_t>(*elem_format(norm_weight.dtype));
  const EpilogueBuffers buffers{{in[in.size() - 3].buffer, norm_weight.buffer, out[1].buffer, in.back().buffer}};
  return launch_linear_with_epilogue(ctx, job, LinearEpilogue::AddRmsNorm, buffers);
}

void encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
            const OpParams& params) {
  if (encode_fused(ctx, in, out, params)) return;
  const DeviceTensor& like = out[0];
  const DeviceTensor y{ctx.scratch_buffer(std::max<size_t>(4, like.nbytes())), like.dtype, like.shape};
  find_op(linear_of(params)).encode(ctx, linear_inputs(in), {y}, params);
  find_op("add_rmsnorm").encode(ctx, norm_inputs(in, y), out, norm_params(params));
}

// ---- conformance cases ------------------------------------------------------------------------

// The linear's inputs, then its bias, add_rmsnorm's h and weight, and the counter.
struct CaseBuilder {
  FusedLinearCaseInputs linear{9100};
  std::vector<OpCase> cases;

  void int4(int64_t n, int64_t k, int64_t m, DType dtype, int64_t group_size, bool bias) {
    finish(linear.int4(n, k, m, dtype, group_size), n, m, dtype, bias);
  }
  void bytes(int64_t n, int64_t k, int64_t m, DType dtype, QType q, bool bias) {
    finish(linear.bytes(n, k, m, dtype, q), n, m, dtype, bias);
  }
  void float_w(int64_t n, int64_t k, int64_t m, DType dtype) { finish(linear.float_w(n, k, m, dtype), n, m, dtype, false); }

  void finish(OpCase c, int64_t n, int64_t m, DType dtype, bool bias) {
    c.params.set("eps", 1e-5);
    linear.add_bias(c, m, dtype, bias);
    c.inputs.push_back(linear.random(dtype, {n, m}, -2.0f, 2.0f));
    c.inputs.push_back(linear.random(dtype, {m}, 0.5f, 1.5f));
    c.inputs.push_back(Tensor::zeros(DType::I32, {1}));
    cases.push_back(std::move(c));
  }

  // NaN, ±inf and -0 in x (a row of y, then of the norm, turns NaN) or in h.
  void special(bool in_h) {
    OpCase& c = cases.back();
    Tensor& t = in_h ? c.inputs[c.inputs.size() - 3] : c.inputs.front();
    t = with_special_values(t, 37, 3);
    c.label += in_h ? " special values in h" : " special values in x";
  }
};

std::vector<OpCase> cases() {
  CaseBuilder b;
  // n = 1 (OpenCL's one launch) and 3 (GEMV tiles), 8 (the largest), 9 (the GEMM: two
  // launches); m past 128 × 4 so the norm's lanes take several columns; k % 16 != 0 (the
  // generic kernels: two launches); float8 codes (one launch on Vulkan, two on OpenCL).
  b.int4(1, 576, 577, DType::F32, 64, true);
  b.int4(3, 128, 20, DType::F32, 32, false);
  b.int4(8, 64, 130, DType::F32, 32, true);
  b.int4(9, 64, 11, DType::F32, 32, true);
  b.bytes(1, 160, 21, DType::F32, QType::QInt8, true);
  b.bytes(8, 48, 13, DType::F32, QType::QFloat8_E4M3FN, false);
  b.bytes(2, 40, 5, DType::F32, QType::QInt8, false);
  b.float_w(1, 96, 1031, DType::F32);
  b.float_w(4, 32, 7, DType::F32);
  // float16 and bfloat16 models: two launches everywhere (the epilogue is float32 only).
  for (DType d : kNarrowFloatDTypes) {
    b.int4(1, 256, 9, d, 128, false);
    b.bytes(3, 64, 6, d, QType::QInt8, true);
  }
  for (bool in_h : {false, true}) {
    b.int4(2, 256, 9, DType::F32, 128, false);
    b.special(in_h);
    b.int4(1, 256, 9, DType::F32, 128, true);
    b.special(in_h);
    b.bytes(1, 64, 6, DType::F32, QType::QInt8, true);
    b.special(in_h);
  }
  return b.cases;
}

}  // namespace

std::string fused_linear_part(const std::string& op, const OpParams& params) {
  const int64_t code = params.get_int("linear", -1);
  if (code < 0 || code >= static_cast<int64_t>(std::size(kFusedLinearOps))) {
    op_error(op, "linear must be " + linear_choices() + ", got " + std::to_string(params.get("linear", -1)));
  }
  const std::string linear(kFusedLinearOps[code]);
  if (linear == "matmul_f32" && params.get_int("transpose_b", 0) != 1) op_error(op, "matmul_f32 needs transpose_b=1 (W [m, k])");
  return linear;
}

LinearJob fused_linear_job(const std::string& linear, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                           const OpParams& params) {
  if (linear == "linear_qbytes") return qbytes_job(in, out, params);
  if (linear == "linear_qbits") return qbits_job(in, out, params);
  return matmul_job(in, out, params);
}

std::vector<TensorSpec> infer_fused_part(const std::string& op, const std::string& part, const std::vector<TensorSpec>& in,
                                         const OpParams& params) {
  try {
    return find_op(part).infer(in, params);
  } catch (const std::invalid_argument& e) {
    op_error(op, "its " + part + " part: " + e.what());
  }
}

void add_fused_linear_ops(std::vector<OpDef>& ops) {
  OpDef def;
  def.name = kName;
  def.summary = "fused_linear(the linear's inputs..., h, norm weight, counter) -> (h + y, rmsnorm(h + y) · weight): "
                "linear_qbytes (linear=0), linear_qbits (1) or matmul_f32 against Wᵀ (2), then add_rmsnorm (eps); one "
                "launch where the specialised GEMV ends with the norm (CPU devices, n ≤ 8, OpenCL n = 1, float32), else two";
  def.infer = infer;
  def.reference = reference;
  def.encode = encode;
  def.cases = cases;
  def.checks = {OutputCheck{}, OutputCheck{}};
  def.reads_tiers = true;
  ops.push_back(std::move(def));
}

}  // namespace pq::rt::linear
