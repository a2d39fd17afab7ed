// What the specialised linear kernels choose (runtime/ops/linear_kernels.cpp): under the texel
// tier, the _tx variants with x and W (int4: its scales and shifts too) bound as texel buffers
// where the tier is on and the buffers fit, the storage-buffer ones otherwise; where the
// swiglu epilogue (linear_swiglu's one launch) applies, with a tile that holds gate and up
// rows; and which devices and weight formats get the add_rmsnorm and rope_kv_write epilogues.
// A silent fallback would keep every result right and lose lavapipe's speed.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>

#include "runtime/ops/linear_common.h"

namespace pq::rt::linear {
namespace {

class SizedBuffer final : public DeviceBuffer {
 public:
  explicit SizedBuffer(size_t bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_; }

 private:
  size_t bytes_;
};

DeviceInfo lavapipe_like(bool texel) {
  DeviceInfo device;
  device.api = Api::Vulkan;
  device.device_type = "cpu";
  device.max_texel_binding_bytes = uint64_t{1} << 31;
  device.tiers.int64 = true;
  device.tiers.texel = texel;
  return device;
}

LinearParams gemv(uint32_t k, uint32_t m, ElemFormat w_format) {
  LinearParams p;
  p.n = 1;
  p.k = k;
  p.m = m;
  p.w_format = static_cast<uint32_t>(w_format);
  p.scale_format = static_cast<uint32_t>(ElemFormat::F16);
  p.group_size = 64;
  p.y_row_stride = m;
  return p;
}

// The variant and texel bindings the specialised launch of `kind` chooses.
void expect_variant(const DeviceInfo& device, LinearParams p, WeightKind kind, const std::string& kernel,
                    uint32_t texel_buffers) {
  const SizedBuffer x(size_t{p.k} * 4), w(size_t{p.k} * p.m);
  const auto launch = specialised_launch(device, p, 1, kind, x, w);
  ASSERT_TRUE(launch.has_value()) << kernel;
  EXPECT_EQ(launch->kernel, kernel);
  EXPECT_EQ(launch->texel_buffers, texel_buffers) << kernel;
}

TEST(LinearTexelChoice, TexelTierPicksTheTexelVariants) {
  expect_variant(lavapipe_like(true), gemv(576, 1536, ElemFormat::U4), WeightKind::Q4Blocked, "linear_q4_tx", 0b1111u);
  expect_variant(lavapipe_like(true), gemv(576, 1536, ElemFormat::I8), WeightKind::Q8, "linear_q8_tx", 0b11u);
}

TEST(LinearTexelChoice, WithoutTheTierOrPastItsLimitTheStorageVariantsStay) {
  const LinearParams q4 = gemv(576, 1536, ElemFormat::U4);
  expect_variant(lavapipe_like(false), q4, WeightKind::Q4Blocked, "linear_q4_i64", 0u);
  DeviceInfo small = lavapipe_like(true);
  small.max_texel_binding_bytes = 576 * 1536 - 1;  // one byte short of W
  expect_variant(small, q4, WeightKind::Q4Blocked, "linear_q4_i64", 0u);
  LinearParams f = gemv(576, 1536, ElemFormat::F32);  // float weights have no texel variant
  f.w_row_stride = 576;
  expect_variant(lavapipe_like(true), f, WeightKind::Float, "linear_f_i64", 0u);
}

// The swiglu epilogue's launch for `device` and `p` (y [n, m / 2]), or nullopt.
std::optional<KernelLaunch> swiglu_launch(const DeviceInfo& device, LinearParams p, WeightKind kind) {
  p.y_row_stride = p.m / 2;
  const SizedBuffer x(size_t{p.k} * 4 * p.n), w(size_t{p.k} * p.m);
  return specialised_launch(device, p, 1, kind, x, w, LinearEpilogue::Swiglu);
}

TEST(LinearSwigluChoice, BlockedInt4GetsTheEpilogueWithEvenTileRows) {
  const uint32_t epilogue = static_cast<uint32_t>(LinearEpilogue::Swiglu);
  // n → rows per slot: 1 → 8, 3 → 2, 6 → 2 (the 1 × 8 tile doubled), 20 → 4 (the GEMM).
  for (auto [n, rows] : {std::pair{1u, 8u}, {3u, 2u}, {6u, 2u}, {20u, 4u}}) {
    LinearParams p = gemv(576, 3072, ElemFormat::U4);
    p.n = n;
    const auto launch = swiglu_launch(lavapipe_like(true), p, WeightKind::Q4Blocked);
    ASSERT_TRUE(launch.has_value()) << "n=" << n;
    EXPECT_EQ(launch->kernel, "linear_q4_tx");
    ASSERT_EQ(launch->constants.size(), 7u);
    EXPECT_EQ(launch->constants[0], rows) << "n=" << n;
    EXPECT_EQ(launch->constants[6], epilogue);
  }
}

TEST(LinearSwigluChoice, NoEpilogueWhereNoSlotHoldsAPairOrTheFormatsDiffer) {
  const LinearParams q4 = gemv(576, 3072, ElemFormat::U4);
  EXPECT_FALSE(swiglu_launch(lavapipe_like(true), gemv(576, 3072, ElemFormat::I8), WeightKind::Q8));
  LinearParams odd = q4;
  odd.m = 3071;
  EXPECT_FALSE(swiglu_launch(lavapipe_like(true), odd, WeightKind::Q4Blocked));
  LinearParams half = q4;
  half.y_format = static_cast<uint32_t>(ElemFormat::F16);
  EXPECT_FALSE(swiglu_launch(lavapipe_like(true), half, WeightKind::Q4Blocked));
  DeviceInfo gpu = lavapipe_like(false);  // k split over a subgroup: a slot is one row
  gpu.device_type = "gpu";
  gpu.tiers.subgroup = true;
  gpu.subgroup_size = 32;
  EXPECT_FALSE(swiglu_launch(gpu, q4, WeightKind::Q4Blocked));
}

// OpenCL (pocl): linear_q4_swiglu for the decode tile (n = 1, 8 rows); other n keep the two
// launches.
TEST(LinearSwigluChoice, OpenCLDecodeGetsTheSwigluKernel) {
  DeviceInfo opencl = lavapipe_like(false);
  opencl.api = Api::OpenCL;
  LinearParams p = gemv(576, 3072, ElemFormat::U4);
  p.y_row_stride = p.m / 2;
  const SizedBuffer x(size_t{p.k} * 4), w(size_t{p.k} * p.m);
  const auto launch = specialised_launch(opencl, p, 1, WeightKind::Q4Blocked, x, w, LinearEpilogue::Swiglu);
  ASSERT_TRUE(launch.has_value());
  EXPECT_EQ(launch->kernel, "linear_q4_swiglu");
  EXPECT_EQ(p.rows_per_item, 8u);
  EXPECT_EQ(p.x_rows_per_item, 1u);
  for (uint32_t n : {2u, 6u, 9u}) {
    LinearParams other = gemv(576, 3072, ElemFormat::U4);
    other.n = n;
    EXPECT_FALSE(swiglu_launch(opencl, other, WeightKind::Q4Blocked)) << "n=" << n;
  }
  EXPECT_FALSE(swiglu_launch(opencl, gemv(576, 3072, ElemFormat::I8), WeightKind::Q8));
}

// The specialised launch of `kind` with `epilogue`, when one applies.
std::optional<KernelLaunch> epilogue_launch(const DeviceInfo& device, LinearParams p, WeightKind kind, LinearEpilogue epilogue) {
  const SizedBuffer x(size_t{p.k} * 4 * p.n), w(size_t{p.k} * p.m);
  return specialised_launch(device, p, 1, kind, x, w, epilogue);
}

// The OpenCL kernel of each weight format that has one for `epilogue` (int4, int8 and float W
// for the decode tile), none for float8 codes.
void expect_opencl_epilogue_kernels(const DeviceInfo& pocl, uint32_t k, uint32_t m, LinearEpilogue epilogue,
                                    const std::string& suffix) {
  LinearParams f = gemv(k, m, ElemFormat::F32);
  f.w_row_stride = k;
  f.w_col_stride = 1;
  for (auto [p, kind, kernel] : {std::tuple{gemv(k, m, ElemFormat::U4), WeightKind::Q4Blocked, "linear_q4"},
                                 {gemv(k, m, ElemFormat::I8), WeightKind::Q8, "linear_q8"},
                                 {f, WeightKind::Float, "linear_f"}}) {
    const auto launch = epilogue_launch(pocl, p, kind, epilogue);
    ASSERT_TRUE(launch.has_value()) << kernel << suffix;
    EXPECT_EQ(launch->kernel, std::string(kernel) + suffix);
  }
  EXPECT_FALSE(epilogue_launch(pocl, gemv(k, m, ElemFormat::E4M3FN), WeightKind::F8, epilogue));
}

// The add_rmsnorm epilogue (fused_linear's one launch) on OpenCL CPU devices: its own kernel per
// weight format that has one, for the decode tile only (n = 1); none on GPUs, where one
// work-item's norm would stall the device.
TEST(LinearAddRmsNormChoice, OpenCLCpuGemvGetsTheEpilogueKernels) {
  DeviceInfo pocl = lavapipe_like(false);
  pocl.api = Api::OpenCL;
  const auto launch_for = [](const DeviceInfo& device, LinearParams p, WeightKind kind) {
    return epilogue_launch(device, p, kind, LinearEpilogue::AddRmsNorm);
  };
  expect_opencl_epilogue_kernels(pocl, 576, 576, LinearEpilogue::AddRmsNorm, "_add_rmsnorm");
  EXPECT_FALSE(launch_for(pocl, gemv(576, 576, ElemFormat::I8), WeightKind::I8xI8));
  for (uint32_t n : {2u, 9u}) {
    LinearParams other = gemv(576, 576, ElemFormat::U4);
    other.n = n;
    EXPECT_FALSE(launch_for(pocl, other, WeightKind::Q4Blocked)) << "n=" << n;
  }
  DeviceInfo gpu = pocl;
  gpu.device_type = "gpu";
  EXPECT_FALSE(launch_for(gpu, gemv(576, 576, ElemFormat::U4), WeightKind::Q4Blocked));
}

// The rope_kv_write epilogue (linear_rope_kv_write's one launch) chooses as the add_rmsnorm one:
// on OpenCL CPU devices its own kernel per weight format that has one, for n = 1; on Vulkan CPU
// devices the specialised GEMV with EPILOGUE 3 for n ≤ 8; never on GPUs.
TEST(LinearRopeKvWriteChoice, CpuDecodeGetsTheEpilogue) {
  DeviceInfo pocl = lavapipe_like(false);
  pocl.api = Api::OpenCL;
  expect_opencl_epilogue_kernels(pocl, 576, 960, LinearEpilogue::RopeKvWrite, "_rope_kv_write");
  LinearParams block = gemv(576, 960, ElemFormat::U4);
  block.n = 3;
  EXPECT_FALSE(epilogue_launch(pocl, block, WeightKind::Q4Blocked, LinearEpilogue::RopeKvWrite));
  const auto vulkan = epilogue_launch(lavapipe_like(true), block, WeightKind::Q4Blocked, LinearEpilogue::RopeKvWrite);
  ASSERT_TRUE(vulkan.has_value());
  EXPECT_EQ(vulkan->kernel, "linear_q4_tx");
  EXPECT_EQ(vulkan->constants.back(), static_cast<uint32_t>(LinearEpilogue::RopeKvWrite));
  DeviceInfo gpu = lavapipe_like(false);
  gpu.device_type = "gpu";
  EXPECT_FALSE(epilogue_launch(gpu, gemv(576, 960, ElemFormat::U4), WeightKind::Q4Blocked, LinearEpilogue::RopeKvWrite));
}

}  // namespace
}  // namespace pq::rt::linear
