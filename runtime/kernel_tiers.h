// Kernel tiers: the optional, faster kernel variants a device may run, each beside the fp32,
// subgroup-free baseline that every device runs. A device's probe says which tiers it supports
// and picks the default set; a device spec may name another set ("vulkan:0/baseline",
// "vulkan:0/subgroup,dot"), so the conformance suite checks every variant a device can run,
// not only the one it picks.
//
// Tiers (Vulkan; OpenCL devices have none yet):
//   int64     loads through 64-bit words (shaderInt64): SIMD CPU drivers fetch each component
//             of a load on its own, so 16 bytes in two components cost half of four.
//   texel     the int4 and int8 linear kernels read x and W (int4: its scales and shifts too),
//             and float32 attention reads q, k and v, as uniform texel buffers of 16-byte
//             texels: llvmpipe fetches a texel per lane in one load, where a storage buffer's
//             load is a loop over lanes and components, each tested against the bounds.
//             Chosen on CPU devices; not with the subgroup split.
//   ksplit    a linear kernel's row is shared by 16 invocations, each walking every 16th step of
//             k, that meet once in shared memory (GPUs without a usable subgroup tier).
//   subgroup  the same split over the lanes of one subgroup (as many as it has), meeting
//             through subgroupAdd without shared memory or barriers; int8 × int8 sums too,
//             which stay exact as int32.
//   dot       int8 × int8 products through packed 4 × 8-bit dot products
//             (SPV_KHR_integer_dot_product), by default where the driver accelerates them.
#pragma once

#include <string>
#include <vector>

namespace pq::rt {

struct KernelTiers {
  bool int64 = false;
  bool ksplit = false;
  bool subgroup = false;
  bool dot = false;
  bool texel = false;
  bool operator==(const KernelTiers&) const = default;
};

// "int64,subgroup", or "baseline" for none.
std::string tier_list(const KernelTiers& tiers);

// Parses tier_list's form; throws std::invalid_argument naming `spec` and the unknown tier.
// ksplit and subgroup are two ways of one split: naming both is an error.
KernelTiers parse_tier_list(const std::string& list, const std::string& spec);

// `requested` where every tier is in `supported`; otherwise throws std::invalid_argument
// naming `device` and the first tier it lacks.
KernelTiers checked_tiers(const KernelTiers& requested, const KernelTiers& supported, const std::string& device);

// The tier sets besides `chosen` that certifying a device runs: the baseline, and every
// supported tier together, once with each way of splitting k it supports (subgroup, ksplit).
// With the default that runs each tier's code and the sets GPUs choose (a fixed subgroup size,
// e.g. NVIDIA: int64,subgroup[,dot]; a varying one, e.g. AMD: int64,ksplit[,dot]) in a few runs.
std::vector<KernelTiers> other_tier_sets(const KernelTiers& supported, const KernelTiers& chosen);

struct DeviceInfo;
// A device opened with the tiers its spec names: checked against its supported tiers, then
// part of its id.
void name_tiers(DeviceInfo& info, const KernelTiers& tiers);

}  // namespace pq::rt
