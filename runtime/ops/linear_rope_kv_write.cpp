// linear_rope_kv_write: an attention's q/k/v projections as one linear (rows q, then k, then v
// heads) and the rope_kv_write after it:
//   linear_rope_kv_write(k_cache, v_cache, positions, inv_freq, start, counter, the linear's inputs...)
//     -> q [n, q_heads, d], k_cache, v_cache (both in place)
// which is rope_kv_write (decode_rope_kv_write.cpp) of the linear's output viewed as
// [n, q_heads + 2 kv_heads, d] (kv_heads: the caches'). `counter` is int32 [1], zero; the op
// leaves it zero. Where the specialised GEMV applies (a CPU device, n ≤ 8, float32, a weight
// format with its own kernel; on OpenCL n = 1 and int4, int8 or float weights), it is one launch:
// the last invocation to finish its rows does the rope_kv_write alone (shaders/linear_gemv.comp,
// EPILOGUE_ROPE_KV_WRITE; cl/linear_gemv.cl, linear_*_rope_kv_write), since a launch costs
// lavapipe 40–100 µs of llvmpipe's thread hand-off and pocl 5–9 µs around it, and a decoder
// layer has one such rope. Elsewhere (GPUs, prefill blocks, 16-bit models) the linear's and
// rope_kv_write's launches run one after the other. The reference is the two ops' references in
// turn; the one launch gives their bits (the rotation is shared: cl/common_rope.cl,
// shaders/rope.glsl). The caches come first so that their in-place outputs have fixed inputs.
// Parameters: linear (0 linear_qbytes, 1 linear_qbits, 2 matmul_f32 with transpose_b=1),
// q_heads (rope_kv_write's); the rest go to the linear.
#include "runtime/ops/decode_ops.h"
#include "runtime/ops/fused_linear_cases.h"
#include "runtime/ops/linear_common.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt::linear {
namespace {

const std::string kName = "linear_rope_kv_write";
constexpr size_t kHeadInputs = 6;  // k_cache, v_cache, positions, inv_freq, start, counter

template <class T>
std::vector<T> linear_inputs(const std::vector<T>& in) {
  if (in.size() <= kHeadInputs) {
    op_error(kName, "expects k_cache, v_cache, positions, inv_freq, start and the counter, then the linear's inputs");
  }
  return {in.begin() + kHeadInputs, in.end()};
}

OpParams rope_params(const OpParams& params) {
  if (!params.has("q_heads")) op_error(kName, "needs parameter q_heads (rope_kv_write's)");
  return {{"q_heads", params.get("q_heads")}};
}

// The linear's output [n, m] as rope_kv_write's qkv [n, q_heads + 2 kv_heads, d].
Shape qkv_shape(const TensorSpec& y, const TensorSpec& k_cache, const OpParams& params) {
  const int64_t kv_heads = k_cache.shape.size() == 3 ? k_cache.shape[1] : 0;
  const int64_t heads = params.get_int("q_heads", 0) + 2 * kv_heads;
  if (y.shape.size() != 2 || heads < 1 || y.shape[1] % heads != 0) {
    op_error(kName, "the linear's output must be [n, (q_heads + 2 kv_heads) · d], got " + describe({y}) + " for q_heads " +
                        std::to_string(params.get_int("q_heads", 0)) + " and caches " + describe({k_cache}));
  }
  return {y.shape[0], heads, y.shape[1] / heads};
}

template <class T>
std::vector<T> rope_inputs(const std::vector<T>& in, const T& qkv) {
  return {qkv, in[2], in[3], in[0], in[1], in[4]};
}

std::vector<TensorSpec> infer(const std::vector<TensorSpec>& in, const OpParams& params) {
  const OpParams rope = rope_params(params);
  const TensorSpec y = infer_fused_part(kName, fused_linear_part(kName, params), linear_inputs(in), params).front();
  const TensorSpec& counter = in[5];
  if (counter.dtype != DType::I32 || shape_numel(counter.shape) != 1) {
    op_error(kName, "the counter must be int32 [1] (zero), got " + describe({counter}));
  }
  return infer_fused_part(kName, "rope_kv_write", rope_inputs(in, TensorSpec{y.dtype, qkv_shape(y, in[0], rope)}), rope);
}

std::vector<Tensor> reference(const std::vector<Tensor>& in, const OpParams& params) {
  const OpParams rope = rope_params(params);
  const Tensor y = find_op(fused_linear_part(kName, params)).reference(linear_inputs(in), params).front();
  const Tensor qkv = y.reshape(qkv_shape(TensorSpec{y.dtype(), y.shape()}, TensorSpec{in[0].dtype(), in[0].shape()}, rope));
  return find_op("rope_kv_write").reference(rope_inputs(in, qkv), rope);
}

// One launch where the GEMV can: y goes into a scratch buffer, which the epilogue then reads.
bool encode_fused(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                  const DeviceTensor& y, const OpParams& params) {
  LinearJob job = fused_linear_job(fused_linear_part(kName, params), linear_inputs(in), {y}, params);
  const Shape& qkv = out[0].shape;  // [n, q_heads, d]
  const Shape& cache = out[1].shape;  // [max_len, kv_heads, d]
  job.params.rope_q_heads = static_cast<uint32_t>(qkv[1]);
  job.params.rope_kv_heads = static_cast<uint32_t>(cache[1]);
  job.params.rope_half_dim = static_cast<uint32_t>(in[3].shape[0]);
  job.params.rope_max_len = static_cast<uint32_t>(cache[0]);
  const EpilogueBuffers buffers{{in[2].buffer, in[3].buffer, in[4].buffer, in[5].buffer, out[0].buffer, out[1].buffer, out[2].buffer}};
  return launch_linear_with_epilogue(ctx, job, LinearEpilogue::RopeKvWrite, buffers);
}

void encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
            const OpParams& params) {
  const std::string linear = fused_linear_part(kName, params);
  const TensorSpec y_spec = find_op(linear).infer(tensor_specs(linear_inputs(in)), params).front();
  const size_t bytes = static_cast<size_t>(shape_numel(y_spec.shape)) * dtype_size(y_spec.dtype);
  const DeviceTensor y{ctx.scratch_buffer(std::max<size_t>(4, bytes)), y_spec.dtype, y_spec.shape};
  if (encode_fused(ctx, in, out, y, params)) return;
  find_op(linear).encode(ctx, linear_inputs(in), {y}, params);
  const OpParams rope = rope_params(params);
  const DeviceTensor qkv{y.buffer, y.dtype, qkv_shape({y.dtype, y.shape}, {in[0].dtype, in[0].shape}, rope)};
  find_op("rope_kv_write").encode(ctx, rope_inputs(in, qkv), out, rope);
}

// ---- conformance cases ------------------------------------------------------------------------

struct RopeShape {
  int64_t q_heads, kv_heads, d, rotary, max_len;
  std::vector<int32_t> positions;  // one a token
  int32_t start;
};

// The caches, positions, inv_freq, start and the counter, then the linear's inputs and its bias.
struct CaseBuilder {
  FusedLinearCaseInputs linear{9500};
  std::vector<OpCase> cases;

  int64_t m(const RopeShape& r) const { return (r.q_heads + 2 * r.kv_heads) * r.d; }

  void int4(const RopeShape& r, int64_t k, DType dtype, int64_t group_size, bool bias) {
    finish(linear.int4(static_cast<int64_t>(r.positions.size()), k, m(r), dtype, group_size), r, dtype, bias);
  }
  void bytes(const RopeShape& r, int64_t k, DType dtype, QType q, bool bias) {
    finish(linear.bytes(static_cast<int64_t>(r.positions.size()), k, m(r), dtype, q), r, dtype, bias);
  }
  void float_w(const RopeShape& r, int64_t k, DType dtype) {
    finish(linear.float_w(static_cast<int64_t>(r.positions.size()), k, m(r), dtype), r, dtype, false);
  }

  void finish(OpCase c, const RopeShape& r, DType dtype, bool bias) {
    linear.add_bias(c, m(r), dtype, bias);
    const Shape cache{r.max_len, r.kv_heads, r.d};
    std::vector<Tensor> head{linear.random(dtype, cache), linear.random(dtype, cache), decode::int32_tensor(r.positions),
                             decode::default_inv_freq(r.rotary), decode::int32_tensor({r.start}), Tensor::zeros(DType::I32, {1})};
    c.inputs.insert(c.inputs.begin(), head.begin(), head.end());
    c.params.set("q_heads", static_cast<double>(r.q_heads));
    c.label += " heads " + std::to_string(r.q_heads) + "+2·" + std::to_string(r.kv_heads) + " d " + std::to_string(r.d) +
               " rotary " + std::to_string(r.rotary) + " cache " + shape_to_string(cache) + " start " + std::to_string(r.start);
    cases.push_back(std::move(c));
  }

  // NaN, ±inf and -0 in x: whole rows of q/k/v turn NaN (v's bytes copied as they are).
  void special() {
    OpCase& c = cases.back();
    Tensor& x = c.inputs[kHeadInputs];
    x = with_special_values(x, 37, 3);
    c.label += " special values in x";
  }
};

std::vector<OpCase> cases() {
  CaseBuilder b;
  const RopeShape smollm2{9, 3, 64, 64, 37, {36}, 36};            // SmolLM2's decode step, into the last row
  const RopeShape partial{2, 1, 6, 4, 11, {2047}, 3};             // partial rotary: dims 4, 5 pass through
  const RopeShape multi_head{3, 3, 8, 8, 9, {7, 8, 9}, 1};        // no grouping, a block of 3 (Vulkan's one launch)
  const RopeShape prefill{4, 2, 16, 16, 12, {0, 1, 2, 3, 4, 5, 6, 7, 8}, 0};  // 9 tokens: the GEMM, two launches
  // The one launch (n = 1 on OpenCL, n ≤ 8 on Vulkan CPU devices): int4, int8 and float W.
  b.int4(smollm2, 576, DType::F32, 64, false);
  b.int4(partial, 64, DType::F32, 32, true);
  b.int4(multi_head, 128, DType::F32, 32, false);
  b.bytes(partial, 160, DType::F32, QType::QInt8, true);
  b.float_w({2, 1, 16, 16, 4, {1}, 2}, 96, DType::F32);
  // Two launches: the GEMM, float8 codes on OpenCL, and float16/bfloat16 models.
  b.int4(prefill, 64, DType::F32, 32, true);
  b.bytes({2, 1, 8, 8, 5, {4}, 4}, 48, DType::F32, QType::QFloat8_E4M3FN, false);
  for (DType d : kNarrowFloatDTypes) {
    b.int4(partial, 256, d, 128, false);
    b.bytes(multi_head, 64, d, QType::QInt8, true);
  }
  b.int4(smollm2, 256, DType::F32, 128, true);
  b.special();
  b.bytes(partial, 64, DType::F32, QType::QInt8, false);
  b.special();
  return b.cases;
}

}  // namespace

void add_linear_rope_kv_write_ops(std::vector<OpDef>& ops) {
  OpDef def;
  def.name = kName;
  def.summary = "linear_rope_kv_write(k_cache, v_cache, positions, inv_freq, start, counter, the linear's inputs...) -> q, "
                "k_cache, v_cache (in place): linear_qbytes (linear=0), linear_qbits (1) or matmul_f32 against Wᵀ (2), "
                "then rope_kv_write (q_heads) of its output; one launch where the specialised GEMV ends with it (CPU "
                "devices, n ≤ 8, OpenCL n = 1, float32), else two";
  def.infer = infer;
  def.reference = reference;
  def.encode = encode;
  def.cases = cases;
  // The linear's bound for all three: v_cache's new row is the linear's output (its other rows
  // are untouched bytes), not copied input bytes as in rope_kv_write.
  def.checks = {OutputCheck{}, OutputCheck{}, OutputCheck{}};
  def.in_place = {{.output = 1, .input = 0}, {.output = 2, .input = 1}};
  def.reads_tiers = true;
  ops.push_back(std::move(def));
}

}  // namespace pq::rt::linear
