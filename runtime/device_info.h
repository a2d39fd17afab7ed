// What a device is and can do, as `portaquant devices` prints it. Filled by each backend's
// probe; nothing here requires a feature, it only reports one.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/kernel_tiers.h"

namespace pq::rt {

enum class Api : uint8_t { Cpu, OpenCL, Vulkan };

std::string_view api_name(Api api);  // "cpu", "opencl", "vulkan"

struct DeviceInfo {
  Api api = Api::Cpu;
  int index = 0;                  // N in "opencl:N"
  std::string name;
  std::string vendor;
  std::string device_type;        // "cpu", "gpu", "integrated gpu", ...
  std::string api_version;
  std::string driver_version;
  uint64_t memory_bytes = 0;
  uint64_t max_buffer_bytes = 0;  // largest single allocation / storage-buffer range
  uint64_t max_binding_bytes = 0;  // largest range one kernel binding covers (Vulkan maxStorageBufferRange)
  uint32_t binding_alignment = 1;  // offset alignment of a buffer view (Backend::view)
  uint64_t max_texel_binding_bytes = 0;  // Vulkan: largest texel-buffer binding (KernelLaunch::texel_buffers)
  bool fp16_storage = false;
  bool fp16_arithmetic = false;
  bool int8_storage = false;
  bool integer_dot_product = false;
  uint32_t subgroup_size = 0;     // 0 = none / unknown
  uint32_t max_workgroup_size = 0;
  uint64_t shared_memory_bytes = 0;
  KernelTiers supported_tiers;    // runtime/kernel_tiers.h
  KernelTiers tiers;              // the tiers the kernels use
  bool tiers_named = false;       // `tiers` come from the device spec, not the probe's choice

  // "llvmpipe (…) (1.3.230, driver llvmpipe Mesa 22.3.6 (LLVM 15.0.6), kernel tiers int64)",
  // what benchmark results record of the device.
  std::string description() const;

  // "cpu", "opencl:0", "vulkan:1"; with the tiers when the spec named them: "vulkan:0/baseline".
  std::string id() const;
};

}  // namespace pq::rt
