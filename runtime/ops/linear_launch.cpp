// launch_linear: the generic GEMV/GEMM grids, the specialised kernels (linear_kernels.cpp)
// where they apply, and windows over tensors larger than one kernel binding may cover
// (lavapipe: 128 MiB). Such a tensor is bound a view at a time (Backend::view): rows of x and y
// in chunks along n, rows of W (with its scales, shifts and bias, and the matching columns of
// y through y_row_stride) in chunks along m. Callers never split anything themselves.
#include <algorithm>
#include <array>
#include <initializer_list>
#include <numeric>
#include <stdexcept>

#include "runtime/ops/linear_common.h"

namespace pq::rt::linear {
namespace {

// Workgroup shapes compiled into cl/linear.cl and shaders/linear.comp (GEMV_LOCAL, GEMM_*).
constexpr uint32_t kGemvLocal = 64;
constexpr uint32_t kGemvColumns = 4;  // output columns per GEMV workgroup (LIN_GEMV_ROWS)
constexpr uint32_t kGemmTile = 32;
constexpr uint32_t kGemmLocal = 64;
constexpr uint64_t kMaxGroups = 65535;  // Vulkan's guaranteed limit per grid dimension

bool use_gemv(const LinearParams& p, uint32_t batches) {
  // GEMV reads W along k: float weights stored [k, m] would be read with stride m.
  const bool float_weights = p.w_format <= static_cast<uint32_t>(ElemFormat::BF16);
  const bool k_contiguous = !float_weights || p.w_col_stride == 1;
  return p.n <= kGemvMaxRows && batches == 1 && k_contiguous;
}

KernelLaunch gemv_launch(const LinearParams& p, Accumulate accumulate) {
  KernelLaunch launch;
  launch.kernel = accumulate == Accumulate::Int ? "linear_gemv_i8" : "linear_gemv";
  launch.local = {kGemvLocal, 1, 1};
  // kGemvColumns output columns per workgroup; past 65535 groups the grid wraps into dimension y.
  const uint64_t groups = ceil_div(p.m, kGemvColumns);
  launch.groups = {static_cast<uint32_t>(std::min(groups, kMaxGroups)), ceil_div(groups, kMaxGroups), 1};
  return launch;
}

KernelLaunch gemm_launch(const LinearParams& p, Accumulate accumulate, uint32_t batches) {
  KernelLaunch launch;
  launch.kernel = accumulate == Accumulate::Int ? "linear_gemm_i8" : "linear_gemm";
  launch.local = {kGemmLocal, 1, 1};
  launch.groups = {ceil_div(p.m, kGemmTile), ceil_div(p.n, kGemmTile), batches};
  for (uint32_t g : launch.groups) {
    if (g > kMaxGroups) {
      throw std::invalid_argument(launch.kernel + ": a grid of " + std::to_string(launch.groups[0]) + "x" +
                                  std::to_string(launch.groups[1]) + "x" + std::to_string(launch.groups[2]) +
                                  " tiles (n=" + std::to_string(p.n) + ", m=" + std::to_string(p.m) +
                                  ") exceeds 65535 workgroups per dimension");
    }
  }
  return launch;
}

// How many of the epilogue's buffers a specialised kernel takes: Vulkan's GEMV shaders declare
// all seven whatever the epilogue; OpenCL's kernels only their own (linear_*_add_rmsnorm four,
// linear_*_rope_kv_write seven, the others none).
size_t epilogue_binding_count(const DeviceInfo& device, LinearEpilogue kind) {
  if (device.api == Api::Vulkan || kind == LinearEpilogue::RopeKvWrite) return kEpilogueBuffers;
  return kind == LinearEpilogue::AddRmsNorm ? 4 : 0;
}

// The launch's buffers: the six of the linear family, then those of the epilogue's the kernel
// takes (the first binding where there is none: never read).
void bind(KernelLaunch& launch, const DeviceInfo& device, bool specialised, const std::array<DeviceBuffer*, 6>& bindings,
          const std::array<DeviceBuffer*, kEpilogueBuffers>& epilogue, LinearEpilogue kind = LinearEpilogue::None) {
  launch.buffers.assign(bindings.begin(), bindings.end());
  if (!specialised) return;
  for (size_t i = 0; i < epilogue_binding_count(device, kind); ++i) launch.buffers.push_back(epilogue[i] ? epilogue[i] : bindings[0]);
}

void launch_one(EncodeContext& ctx, const std::array<DeviceBuffer*, 6>& bindings, LinearParams p, Accumulate accumulate,
                uint32_t batches, WeightKind kind) {
  std::optional<KernelLaunch> special = specialised_launch(ctx.device(), p, batches, kind, *bindings[0], *bindings[1]);
  if (!special && kind == WeightKind::Q4Blocked) {
    throw std::invalid_argument("linear: no kernel reads blocked int4 codes for n=" + std::to_string(p.n) +
                                " k=" + std::to_string(p.k) + " m=" + std::to_string(p.m));
  }
  const bool specialised = special.has_value();
  KernelLaunch launch = special ? std::move(*special)
                        : use_gemv(p, batches) ? gemv_launch(p, accumulate)
                                               : gemm_launch(p, accumulate, batches);
  bind(launch, ctx.device(), specialised, bindings, {});
  launch.set_params(p);
  ctx.launch(launch);
}

// ---- windows ----------------------------------------------------------------------------------

uint64_t format_bytes(uint32_t format) {
  switch (static_cast<ElemFormat>(format)) {
    case ElemFormat::F32: return 4;
    case ElemFormat::F16:
    case ElemFormat::BF16: return 2;
    default: return 1;  // int8 and float8 codes
  }
}

// Bytes per row of each operand, and what the rows of W need to be cut.
struct RowBytes {
  uint64_t x, y, w, scale, bias;
  uint64_t w_granule;  // W is cut at multiples of this many rows (the blocked layout's 8-row groups)
  bool w_splits;       // W's rows are contiguous byte ranges
};

RowBytes row_bytes(const LinearParams& p, WeightKind kind) {
  const bool sub_byte = kind == WeightKind::Q4Blocked || p.w_format == static_cast<uint32_t>(ElemFormat::U4) ||
                        p.w_format == static_cast<uint32_t>(ElemFormat::U2);
  RowBytes b{};
  b.x = uint64_t{p.k} * format_bytes(p.x_format);
  b.y = uint64_t{p.y_row_stride} * (p.raw_int ? 4 : format_bytes(p.y_format));
  b.scale = (sub_byte ? p.k / std::max(1u, p.group_size) : 1) * format_bytes(p.scale_format);
  b.bias = format_bytes(p.bias_format);
  b.w_granule = kind == WeightKind::Q4Blocked ? 8 : 1;
  // quanto's planar sub-byte packing spreads a row over every bit plane; float W stored [k, m]
  // has strided rows.
  const bool float_w = p.w_format <= static_cast<uint32_t>(ElemFormat::BF16);
  b.w_splits = kind == WeightKind::Q4Blocked || (!sub_byte && (!float_w || (p.w_col_stride == 1 && p.w_row_stride == p.k)));
  b.w = kind == WeightKind::Q4Blocked ? uint64_t{p.k} / 2 : uint64_t{p.k} * format_bytes(p.w_format);
  return b;
}

// Rows per chunk: `most` rows at the most, a multiple of `step` unless all `total` rows fit.
uint64_t aligned_rows(uint64_t total, uint64_t most, uint64_t step) { return most >= total ? total : most / step * step; }

// The step that keeps every chunk's byte offset (a multiple of `bytes`) aligned.
uint64_t offset_step(uint64_t alignment, uint64_t bytes) { return bytes ? alignment / std::gcd(alignment, bytes) : 1; }

[[noreturn]] void cannot_window(const LinearParams& p, const std::string& why) {
  throw std::invalid_argument("linear: n=" + std::to_string(p.n) + " k=" + std::to_string(p.k) + " m=" +
                              std::to_string(p.m) + " exceeds what one kernel binding covers and " + why);
}

// The parameters as the kernels read them: y's row stride defaults to m.
LinearParams with_defaults(const LinearParams& params) {
  LinearParams p = params;
  if (p.y_row_stride == 0) p.y_row_stride = p.m;
  return p;
}

// Whether each buffer (null: unused) fits one kernel binding of the device.
bool fit_one_binding(const DeviceInfo& device, std::initializer_list<const std::shared_ptr<DeviceBuffer>*> buffers) {
  const uint64_t limit = device.max_binding_bytes;
  for (const auto* buffer : buffers) {
    if (limit != 0 && *buffer && (*buffer)->size() > limit) return false;
  }
  return true;
}

}  // namespace

void launch_linear(EncodeContext& ctx, LinearBuffers b, const LinearParams& params, Accumulate accumulate,
                   uint32_t batches, WeightKind kind) {
  if (params.n == 0 || params.m == 0 || batches == 0) return;  // empty output
  const LinearParams p = with_defaults(params);
  DeviceBuffer* any = b.x.get();
  auto raw = [any](const std::shared_ptr<DeviceBuffer>& buffer) { return buffer ? buffer.get() : any; };
  const uint64_t limit = ctx.device().max_binding_bytes;
  const auto fits = [&ctx](const std::shared_ptr<DeviceBuffer>& buffer) { return fit_one_binding(ctx.device(), {&buffer}); };
  if (fit_one_binding(ctx.device(), {&b.x, &b.w, &b.scale, &b.shift, &b.bias, &b.y})) {
    launch_one(ctx, {raw(b.x), raw(b.w), raw(b.scale), raw(b.shift), raw(b.bias), raw(b.y)}, p, accumulate, batches, kind);
    return;
  }
  if (batches != 1) cannot_window(p, "batched matmuls are not cut into windows");
  const RowBytes rb = row_bytes(p, kind);
  const uint64_t align = ctx.device().binding_alignment;
  const bool cut_w = !(fits(b.w) && fits(b.scale) && fits(b.shift) && fits(b.bias));
  if (cut_w && !rb.w_splits) cannot_window(p, "its weight layout has no contiguous rows (use the blocked layout)");
  const uint64_t y_elem = rb.y / p.y_row_stride;
  uint64_t mc = p.m;
  if (cut_w) {
    uint64_t step = rb.w_granule, most = p.m;
    for (uint64_t bytes : {rb.w, rb.scale, rb.bias, y_elem}) {
      step = std::lcm(step, offset_step(align, bytes));
      most = std::min(most, limit / bytes);
    }
    mc = aligned_rows(p.m, most, step);
  }
  // One chunk of y rows spans (rows - 1) · y_row_stride + mc elements.
  const uint64_t y_rows = limit / y_elem < mc ? 0 : (limit / y_elem - mc) / p.y_row_stride + 1;
  const uint64_t nc = aligned_rows(p.n, std::min(limit / rb.x, y_rows), std::lcm(offset_step(align, rb.x), offset_step(align, rb.y)));
  if (mc == 0 || nc == 0) cannot_window(p, "no window of whole rows fits the device's binding limit and alignment");
  for (uint64_t n0 = 0; n0 < p.n; n0 += nc) {
    const uint64_t rows = std::min<uint64_t>(nc, p.n - n0);
    DeviceBuffer* x = ctx.view(b.x, n0 * rb.x, std::min<uint64_t>(rows * rb.x, b.x->size() - n0 * rb.x));
    // Unused bindings get this chunk's x (never read).
    auto window = [&](const std::shared_ptr<DeviceBuffer>& buffer, uint64_t offset, uint64_t bytes) -> DeviceBuffer* {
      if (!buffer) return x;
      return ctx.view(buffer, offset, std::min<uint64_t>(bytes, buffer->size() - offset));
    };
    auto whole = [x](const std::shared_ptr<DeviceBuffer>& buffer) { return buffer ? buffer.get() : x; };
    for (uint64_t m0 = 0; m0 < p.m; m0 += mc) {
      const uint64_t cols = std::min<uint64_t>(mc, p.m - m0);
      LinearParams chunk = p;
      chunk.n = static_cast<uint32_t>(rows);
      chunk.m = static_cast<uint32_t>(cols);
      DeviceBuffer* y = window(b.y, n0 * rb.y + m0 * y_elem, (rows - 1) * rb.y + cols * y_elem);
      const std::array<DeviceBuffer*, 6> bindings =
          cut_w ? std::array<DeviceBuffer*, 6>{x, window(b.w, m0 * rb.w, cols * rb.w), window(b.scale, m0 * rb.scale, cols * rb.scale),
                                               window(b.shift, m0 * rb.scale, cols * rb.scale),
                                               window(b.bias, m0 * rb.bias, cols * rb.bias), y}
                : std::array<DeviceBuffer*, 6>{x, whole(b.w), whole(b.scale), whole(b.shift), whole(b.bias), y};
      launch_one(ctx, bindings, chunk, accumulate, 1, kind);
    }
  }
}

void launch_linear(EncodeContext& ctx, const LinearJob& job) {
  launch_linear(ctx, job.buffers, job.params, job.accumulate, job.batches, job.kind);
}

bool launch_linear_with_epilogue(EncodeContext& ctx, const LinearJob& job, LinearEpilogue epilogue,
                                 const EpilogueBuffers& eb) {
  const LinearBuffers& b = job.buffers;
  LinearParams p = with_defaults(job.params);
  if (p.n == 0 || p.m == 0) return false;
  // Windows (a launch per chunk of rows) are not for an epilogue, which needs every row.
  if (!fit_one_binding(ctx.device(), {&b.x, &b.w, &b.scale, &b.shift, &b.bias, &b.y})) return false;
  for (const std::shared_ptr<DeviceBuffer>& buffer : eb.buffers) {
    if (!fit_one_binding(ctx.device(), {&buffer})) return false;
  }
  std::optional<KernelLaunch> launch = specialised_launch(ctx.device(), p, job.batches, job.kind, *b.x, *b.w, epilogue);
  if (!launch) return false;
  auto raw = [&b](const std::shared_ptr<DeviceBuffer>& buffer) { return buffer ? buffer.get() : b.x.get(); };
  std::array<DeviceBuffer*, kEpilogueBuffers> epilogue_buffers{};
  for (size_t i = 0; i < kEpilogueBuffers; ++i) epilogue_buffers[i] = eb.buffers[i].get();
  bind(*launch, ctx.device(), true, {raw(b.x), raw(b.w), raw(b.scale), raw(b.shift), raw(b.bias), raw(b.y)},
       epilogue_buffers, epilogue);
  launch->set_params(p);
  ctx.launch(*launch);
  return true;
}

}  // namespace pq::rt::linear
