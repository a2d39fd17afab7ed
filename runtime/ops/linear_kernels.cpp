// The specialised kernels of the linear family (cl/linear_gemv.cl, shaders/linear_gemv.comp):
// which one serves a weight kind and shape, and its grid. They read one weight format each (no
// per-element format switch) with 16-byte loads, and exist where their alignment holds (k a
// multiple of 16, of 32 for the blocked int4 layout); everything else goes to the generic
// kernels of cl/linear.cl and shaders/linear.comp.
//
// A work-item owns a tile of rows_per_item rows of W × x_rows_per_item rows of x (grid
// dimension z walks the tiles of x, so n ≤ 8 is one tile: the GEMV), chosen from n so that
// its accumulators stay in registers: 8 × 1, 4 × 2, 2 × 4, 1 × 8, and 4 × 4 for GEMM (6 × 4 for
// OpenCL's int8 × int8 GEMM).
// Vulkan devices with the ksplit or subgroup tier (GPUs, runtime/kernel_tiers.h) also split k
// across k_split invocations that meet once, in shared memory or through subgroupAdd.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "runtime/ops/linear_common.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt::linear {
namespace {

constexpr uint64_t kMaxGroups = 65535;  // Vulkan's guaranteed limit per grid dimension
constexpr uint32_t kOpenCLLocal = 4;
constexpr uint32_t kVulkanGpuLocal = 64;  // shaders/linear_gemv.comp LIN_LOCAL
constexpr uint32_t kVulkanCpuLocal = 16;
constexpr uint32_t kVulkanGpuKSplit = 16;

struct Tile {
  uint32_t rows, x_rows;
};

// OpenCL's int8 × int8 GEMM holds int32 accumulators and converts nothing to float: 6 × 4 of
// them (24 vector registers of 16 lanes, with 4 rows of x and one of W: 29 of AVX-512's 32) reuse
// each load more than 4 × 4 does. The blocked int4 layout and the Vulkan shaders need ROWS | 8.
Tile tile_for(uint32_t n, WeightKind kind, Api api) {
  if (n > kGemvMaxRows) return kind == WeightKind::I8xI8 && api == Api::OpenCL ? Tile{6, 4} : Tile{4, 4};
  if (n == 1) return {8, 1};
  if (n == 2) return {4, 2};
  return n <= 4 ? Tile{2, 4} : Tile{1, 8};
}

const char* kernel_of(WeightKind kind) {
  switch (kind) {
    case WeightKind::Q4Blocked: return "linear_q4";
    case WeightKind::Q8: return "linear_q8";
    case WeightKind::F8: return "linear_f8";
    case WeightKind::Float: return "linear_f";
    case WeightKind::I8xI8: return "linear_i8";
    default: return nullptr;
  }
}

// Whether the kernel's loads fit the shape: 16 elements per load along k, W rows k-contiguous.
bool applies(const LinearParams& p, WeightKind kind) {
  if (kind == WeightKind::Q4Blocked) return true;  // the layout exists only for G % 32 == 0
  if (p.k % 16 != 0) return false;
  return kind != WeightKind::Float || (p.w_col_stride == 1 && p.w_row_stride == p.k);
}

// A grid of `items` work-items in groups of `local` along x (wrapped into y), `tiles` along z.
void set_grid(KernelLaunch& launch, uint64_t items, uint32_t local, uint32_t tiles) {
  const uint64_t groups = (items + local - 1) / local;
  launch.local = {local, 1, 1};
  launch.groups = {static_cast<uint32_t>(std::min(groups, kMaxGroups)), ceil_div(groups, kMaxGroups), tiles};
}

// Vulkan: invocations sharing a row's k. The subgroup tier splits over one subgroup's lanes
// (power-of-two sizes up to kVulkanGpuLocal, fixed: runtime/vulkan/vulkan_probe.cpp); int8 ×
// int8 sums meet exactly only there (as int32), not as floats in shared memory.
uint32_t k_split_for(const DeviceInfo& device, WeightKind kind) {
  if (device.api != Api::Vulkan) return 1;
  if (device.tiers.subgroup) return device.subgroup_size;
  return device.tiers.ksplit && kind != WeightKind::I8xI8 ? kVulkanGpuKSplit : 1;
}

// The texel tier's variants (x and W as texel buffers, and for int4 the scales and shifts)
// exist for int4 and int8 weights, without the subgroup split, where x and W fit a texel-buffer
// binding (the scales and shifts are smaller than W; views are aligned for one: the probe's
// binding_alignment covers minTexelBufferOffsetAlignment).
uint32_t texel_buffers(const DeviceInfo& device, uint32_t k_split, WeightKind kind, const DeviceBuffer& x,
                       const DeviceBuffer& w) {
  if ((k_split > 1 && device.tiers.subgroup) || !texel_bindable(device, x) || !texel_bindable(device, w)) return 0;
  if (kind == WeightKind::Q4Blocked) return 0b1111;  // bindings x, W, scale, shift
  return kind == WeightKind::Q8 ? 0b11 : 0;          // x, W (the row scales are read once a row)
}

// shaders/linear_gemv.comp's variants: the kernel, then _sg (subgroup sums), _dot (int8 dot
// products), _i64 (64-bit loads); or the kernel and _tx (texel loads).
std::string vulkan_variant(const char* kernel, const DeviceInfo& device, uint32_t k_split, WeightKind kind,
                           bool texel) {
  std::string name = kernel;
  if (texel) return name + "_tx";
  if (k_split > 1 && device.tiers.subgroup) name += "_sg";
  if (kind == WeightKind::I8xI8 && device.tiers.dot) name += "_dot";
  if (device.tiers.int64) name += "_i64";
  return name;
}

// The epilogues need k_split 1 (no slices to meet first) and float32 x and y; OpenCL's kernels
// exist for the decode tile only (n = 1, 8 rows × 1 row of x: each tile more is pocl compile time).
// Swiglu: blocked int4 (a tile's rows are consecutive, so gate and up rows i are one tile's),
// m even, y [n, m / 2] (OpenCL: linear_q4_swiglu).
// AddRmsNorm and RopeKvWrite: CPU devices (one invocation computes the epilogue: it would stall a
// GPU), n ≤ 8; on OpenCL int4, int8 and float weights (linear_q4/q8/f_add_rmsnorm,
// _rope_kv_write), on Vulkan all but int8 × int8.
bool epilogue_applies(const DeviceInfo& device, const LinearParams& p, WeightKind kind, LinearEpilogue epilogue) {
  const auto f32 = static_cast<uint32_t>(ElemFormat::F32);
  if (k_split_for(device, kind) != 1 || p.x_format != f32 || p.y_format != f32) return false;
  const bool vulkan = device.api == Api::Vulkan;
  if (!vulkan && p.n != 1) return false;
  if (epilogue == LinearEpilogue::Swiglu) return kind == WeightKind::Q4Blocked && p.m % 2 == 0 && p.y_row_stride == p.m / 2;
  const bool kernel_exists =
      vulkan ? kind != WeightKind::I8xI8 : kind == WeightKind::Q4Blocked || kind == WeightKind::Q8 || kind == WeightKind::Float;
  return device.device_type == "cpu" && p.n <= kGemvMaxRows && kernel_exists && p.y_row_stride == p.m;
}

// OpenCL's kernels with an epilogue are kernels of their own (Vulkan's: a specialization constant).
std::string opencl_kernel(const char* kernel, LinearEpilogue epilogue) {
  if (epilogue == LinearEpilogue::Swiglu) return std::string(kernel) + "_swiglu";
  if (epilogue == LinearEpilogue::AddRmsNorm) return std::string(kernel) + "_add_rmsnorm";
  if (epilogue == LinearEpilogue::RopeKvWrite) return std::string(kernel) + "_rope_kv_write";
  return kernel;
}

}  // namespace

std::optional<KernelLaunch> specialised_launch(const DeviceInfo& device, LinearParams& p, uint32_t batches,
                                               WeightKind kind, const DeviceBuffer& x, const DeviceBuffer& w,
                                               LinearEpilogue epilogue) {
  const char* kernel = kernel_of(kind);
  if (!kernel || batches != 1 || !applies(p, kind)) return std::nullopt;
  if (epilogue != LinearEpilogue::None && !epilogue_applies(device, p, kind, epilogue)) return std::nullopt;
  KernelLaunch launch;
  launch.kernel = kernel;
  // Vulkan with k split (GPUs): one row of W per invocation.
  const uint32_t k_split = k_split_for(device, kind);
  Tile tile = k_split == 1 ? tile_for(p.n, kind, device.api) : Tile{1, std::min(p.n, kGemvMaxRows)};
  if (epilogue == LinearEpilogue::Swiglu && tile.rows == 1) tile = {2, tile.x_rows};  // a slot holds gate and up rows
  p.rows_per_item = tile.rows;
  p.x_rows_per_item = tile.x_rows;
  p.k_split = k_split;
  const uint32_t x_tiles = ceil_div(p.n, tile.x_rows);
  if (x_tiles > kMaxGroups) return std::nullopt;
  if (device.api == Api::OpenCL) {  // one flat grid over (rows of W, tiles of x), x fastest
    launch.kernel = opencl_kernel(kernel, epilogue);
    set_grid(launch, uint64_t{ceil_div(p.m, tile.rows)} * x_tiles, kOpenCLLocal, 1);
  } else {
    // shaders/linear_gemv.comp: slots of `rows` rows in 8-row lanes, k_split invocations each.
    launch.texel_buffers = texel_buffers(device, k_split, kind, x, w);
    launch.kernel = vulkan_variant(kernel, device, k_split, kind, launch.texel_buffers != 0);
    const auto is = [](uint32_t format, ElemFormat f) { return format == static_cast<uint32_t>(f) ? 1u : 0u; };
    launch.constants = {p.rows_per_item, p.x_rows_per_item, is(p.x_format, ElemFormat::F32), is(p.x_format, ElemFormat::F16),
                        is(p.w_format, ElemFormat::F32), is(p.w_format, ElemFormat::F16), static_cast<uint32_t>(epilogue)};
    const uint32_t local = k_split == 1 && device.device_type == "cpu" ? kVulkanCpuLocal : kVulkanGpuLocal;
    const uint64_t slots = uint64_t{ceil_div(p.m, 8 * tile.rows)} * 8;
    set_grid(launch, ceil_div(slots, local / p.k_split) * uint64_t{local}, local, x_tiles);
  }
  return launch;
}

}  // namespace pq::rt::linear
