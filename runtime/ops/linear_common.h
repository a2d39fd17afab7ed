// Shared pieces of the linear op family (linear_*.cpp): the kernel parameter block of
// cl/linear.cl and shaders/linear.comp, the GEMV/GEMM launch choice, and the double-accumulated
// reference matmul. One parameter block serves every kernel of the family, so the weight and
// activation formats are parameters (a switch in the kernel), not kernel variants.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/op_registry.h"

namespace pq::rt::linear {

// Element formats of x, W and scales as the kernels decode them (FMT_* in cl/linear.cl and
// shaders/linear.comp: keep the codes in sync).
enum class ElemFormat : uint32_t {
  F32 = 0, F16 = 1, BF16 = 2, I8 = 3, E4M3FN = 4, E4M3FNUZ = 5, E5M2 = 6,
  U4 = 7, U2 = 8,  // sub-byte weights: planar-packed unsigned codes
};

// The format a dtype is read in; nullopt for dtypes the kernels do not decode.
std::optional<ElemFormat> elem_format(DType dtype);

// y[b][n, m] = x_scale · row_scale[m] · (x[b][n, k] · W[b][m, k]ᵀ) (+ bias[m]), with W read as:
//   8-bit codes [m, k] (row_scale = scale[m]), sub-byte planar-packed codes dequantized per
//   group (row_scale = 1), or float32/float16/bfloat16 through (w_row_stride, w_col_stride)
//   (row_scale = 1). Accumulation is float32 (int32 for int8 × int8); y is rounded once into
//   y_format.
struct LinearParams {
  uint32_t n = 0, m = 0, k = 0;
  uint32_t x_format = 0;        // ElemFormat of x
  float x_scale = 1.0f;         // per-tensor activation scale (1 for float activations)
  uint32_t w_format = 0;        // ElemFormat of W
  uint32_t scale_format = 0;    // ElemFormat of scale and shift (F32, F16 or BF16)
  uint32_t group_size = 0;      // sub-byte: G (divides k)
  uint32_t packed_rows = 0;     // sub-byte: R = ceil(groups / (8 / bits))
  uint32_t w_row_stride = 0;    // float W: elements between W[r, c] and W[r+1, c]
  uint32_t w_col_stride = 1;    //          and between W[r, c] and W[r, c+1]
  uint32_t has_bias = 0;
  uint32_t x_batch_stride = 0;  // batched float matmul: elements between batches
  uint32_t w_batch_stride = 0;
  uint32_t y_batch_stride = 0;
  uint32_t raw_int = 0;         // integer kernels: write the int32 accumulators, unscaled
  uint32_t y_format = 0;        // F32, F16 or BF16: the dtype y is rounded into
  uint32_t bias_format = 0;     // F32, F16 or BF16
  uint32_t y_row_stride = 0;    // elements between rows of y (0: m; set by launch_linear)
  uint32_t rows_per_item = 1;   // specialised kernels: rows of W per work-item (set by launch_linear)
  uint32_t x_rows_per_item = 1; // specialised kernels: rows of x per work-item (set by launch_linear)
  uint32_t k_split = 1;         // specialised kernels: work-items sharing one row's k (set by launch_linear)
  float norm_eps = 0.0f;        // an add_rmsnorm epilogue: the norm's epsilon (linear_fused.cpp)
  uint32_t norm_format = 0;     //   and the norm weight's F32, F16 or BF16
  uint32_t rope_q_heads = 0;    // a rope_kv_write epilogue (linear_rope_kv_write.cpp): y is [n, H, d] with
  uint32_t rope_kv_heads = 0;   //   H = q_heads + 2 kv_heads (d = m / H),
  uint32_t rope_half_dim = 0;   //   rotary_dim / 2,
  uint32_t rope_max_len = 0;    //   and the caches' rows
};

// How W is stored, which decides the kernels that can read it: any format through the generic
// kernels (a format switch per element), or one the specialised kernels read directly.
enum class WeightKind {
  Generic,    // every format and layout the generic kernels decode
  Q4Blocked,  // int4 codes in the blocked layout (runtime/ops/linear_layout.h)
  Q8,         // int8 codes [m, k], one scale per row
  F8,         // float8 codes [m, k] (any of the three formats), one scale per row
  Float,      // float32/float16/bfloat16 W [m, k] (k-contiguous rows)
  I8xI8,      // int8 codes × int8 activations, int32 accumulation
};

struct LinearBuffers {
  std::shared_ptr<DeviceBuffer> x, w;
  std::shared_ptr<DeviceBuffer> scale, shift, bias;  // unused bindings get x (never read)
  std::shared_ptr<DeviceBuffer> y;
};

enum class Accumulate { Float, Int };

// One launch_linear call, as an op's encoder builds it (the *_job functions below).
struct LinearJob {
  LinearBuffers buffers;
  LinearParams params;
  Accumulate accumulate = Accumulate::Float;
  uint32_t batches = 1;
  WeightKind kind = WeightKind::Generic;
};

// What the specialised GEMV does after its sums (shaders/linear_gemv.comp EPILOGUE; OpenCL:
// kernels of their own in cl/linear_gemv.cl, linear_q4_swiglu, linear_*_add_rmsnorm and
// linear_*_rope_kv_write).
// AddRmsNorm (the op fused_linear, linear_fused.cpp): y is the delta of a residual add, the sum
// h + y replaces y, and rmsnorm(h + y) · weight goes to `normed`. Swiglu (the op linear_swiglu,
// linear_swiglu.cpp; no epilogue buffers): W's rows 2i and 2i + 1 are gate and up rows i, and
// y [n, m / 2] gets silu(gate) · up (y_row_stride m / 2). RopeKvWrite (the op
// linear_rope_kv_write, linear_rope_kv_write.cpp): y is [n, q_heads + 2 kv_heads, d] (the
// params' rope_* fields), and rope_kv_write of it goes to q and the caches. AddRmsNorm and
// RopeKvWrite count the finished invocations on `counter` (int32 [1], zero; left zero), and the
// last one does the epilogue alone.
enum class LinearEpilogue : uint32_t { None = 0, AddRmsNorm = 1, Swiglu = 2, RopeKvWrite = 3 };
// The epilogue's buffers, bound after the linear's six in this order (Vulkan bindings 6–12):
// AddRmsNorm h, the norm's weight, normed, counter; RopeKvWrite positions, inv_freq, start,
// counter, q, k_cache, v_cache.
inline constexpr size_t kEpilogueBuffers = 7;
struct EpilogueBuffers {
  std::array<std::shared_ptr<DeviceBuffer>, kEpilogueBuffers> buffers;
};

// Largest n served by the GEMV kernels (a workgroup per 4 output columns reduces over k for
// every row of x at once, so each decoded weight is reused n times).
inline constexpr uint32_t kGemvMaxRows = 8;

// Registration of the family's ops (linear.cpp calls them).
void add_weight_only_linear_ops(std::vector<OpDef>& ops);  // linear_weight_only.cpp
void add_int8_linear_ops(std::vector<OpDef>& ops);         // linear_int8.cpp
void add_float_matmul_ops(std::vector<OpDef>& ops);        // linear_matmul.cpp
void add_fused_linear_ops(std::vector<OpDef>& ops);        // linear_fused.cpp
void add_linear_swiglu_ops(std::vector<OpDef>& ops);       // linear_swiglu.cpp
void add_linear_rope_kv_write_ops(std::vector<OpDef>& ops); // linear_rope_kv_write.cpp

// The fused linear ops' parameter `linear` (fused_linear, linear_swiglu, linear_rope_kv_write) is an index into this list of the
// linear ops they run.
inline constexpr std::string_view kFusedLinearOps[] = {"linear_qbytes", "linear_qbits", "matmul_f32"};
// The linear op that `params` name for the fused op `op` (matmul_f32 with transpose_b=1 only),
// and its launch_linear call (linear_fused.cpp).
std::string fused_linear_part(const std::string& op, const OpParams& params);
LinearJob fused_linear_job(const std::string& linear, const std::vector<DeviceTensor>& in,
                           const std::vector<DeviceTensor>& out, const OpParams& params);
// A part's checks (op `part`'s infer), its errors told as the fused op's.
std::vector<TensorSpec> infer_fused_part(const std::string& op, const std::string& part, const std::vector<TensorSpec>& in,
                                         const OpParams& params);

// Enqueues the family's GEMV (n ≤ 8, one batch, k-contiguous W) or tiled GEMM kernel (32 × 32
// output tiles); `batches` > 1 runs the GEMM over grid dimension z. A specialised kernel serves
// `kind` where one applies (linear_kernels.cpp), else the generic ones (never for Q4Blocked).
// Tensors larger than one kernel binding covers are bound a window at a time (linear_launch.cpp).
// Unset bindings get x (the kernels never read them).
void launch_linear(EncodeContext& ctx, LinearBuffers buffers, const LinearParams& params, Accumulate accumulate,
                   uint32_t batches = 1, WeightKind kind = WeightKind::Generic);

void launch_linear(EncodeContext& ctx, const LinearJob& job);

// The job with `epilogue` in one launch of the specialised GEMV; false (nothing launched) where
// no kernel does that (linear_kernels.cpp, epilogue_applies): AddRmsNorm on GPUs (the epilogue
// runs on one invocation), for n > 8 or int8 × int8 (OpenCL: float8 too), either epilogue on
// OpenCL for n ≠ 1, Swiglu other than blocked int4, x or y not float32, tensors past one binding.
bool launch_linear_with_epilogue(EncodeContext& ctx, const LinearJob& job, LinearEpilogue epilogue,
                                 const EpilogueBuffers& buffers);

// The specialised kernel for `kind`, when one applies to these parameters (linear_kernels.cpp):
// its launch with kernel, grid and rows_per_item/k_split set; nullopt for the generic kernels.
// Vulkan launches bind 13 buffers (the epilogue's seven after the linear's six). `x` and `w`
// are the buffers bound to x and W, which the texel tier's kernels read as texel buffers where
// they fit its binding limit.
std::optional<KernelLaunch> specialised_launch(const DeviceInfo& device, LinearParams& params, uint32_t batches,
                                               WeightKind kind, const DeviceBuffer& x, const DeviceBuffer& w,
                                               LinearEpilogue epilogue = LinearEpilogue::None);

// The launch_linear calls of linear_qbytes, linear_qbits and matmul_f32 (our kernels; matmul_f32
// may go to CLBlast instead, which its encoder decides).
LinearJob qbytes_job(const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams& params);
LinearJob qbits_job(const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams& params);
LinearJob matmul_job(const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams& params);

// y[n, m] = x[n, k] · W[m, k]ᵀ (+ bias), accumulated in double, rounded once to float (and by
// the caller into the output dtype).
std::vector<float> reference_matmul(const std::vector<float>& x, const std::vector<float>& w, int64_t n, int64_t m,
                                     int64_t k, const std::vector<float>* bias);

// Shapes and checks shared by the linear ops.
int64_t rows_of(const Shape& x_shape);                  // product of all dims but the last
Shape with_last_dim(const Shape& x_shape, int64_t m);   // x's shape with the last dim replaced
void expect_rank_at_least(const std::string& op, const TensorSpec& t, const char* what, size_t rank);
void expect_numel(const std::string& op, const TensorSpec& t, const char* what, int64_t numel);
void expect_float_activation(const std::string& op, const TensorSpec& x);
void expect_scale_dtype(const std::string& op, const TensorSpec& t, const char* what);
// Checks `has_bias` against the input count and the bias [m] (any float dtype); returns has_bias.
bool check_bias(const std::string& op, const std::vector<TensorSpec>& in, size_t base_inputs, const OpParams& params,
                int64_t m);
// The dtype y is written in: parameter `dtype` (0 float32, 1 float16, 2 bfloat16) when given,
// else x's dtype for float activations, float32 for int8/float8 ones.
DType output_dtype(const std::string& op, DType x, const OpParams& params);

// Inputs a kernel reads through 32-bit indices: every element index must fit.
void expect_u32_indexable(const std::string& op, const std::vector<TensorSpec>& in);

std::vector<TensorSpec> specs_of(const std::vector<Tensor>& in);
std::vector<TensorSpec> specs_of(const std::vector<DeviceTensor>& in);

// The bias vector of a reference call, when present.
std::optional<std::vector<float>> reference_bias(const std::vector<Tensor>& in, size_t index, const OpParams& params);

// Conformance helpers.
struct CaseShape {
  int64_t n, k, m;
};
// n across the GEMV/GEMM edge, k with per-row and grouped sub-byte layouts, m not a multiple of
// any tile; the k = 4096 shapes are GEMV only (n ≤ 8) to keep the suite fast on CPU devices.
const std::vector<CaseShape>& case_shapes();
std::string shape_label(const CaseShape& s);

}  // namespace pq::rt::linear
