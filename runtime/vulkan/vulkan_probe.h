// What one physical device is and supports, read once: the DeviceInfo that `portaquant devices`
// prints, and the optional features the logical device may enable.
#pragma once

#include <vulkan/vulkan.h>

#include <string>
#include <string_view>
#include <vector>

#include "runtime/device_info.h"
#include "runtime/vulkan/vulkan_instance.h"

namespace pq::rt::vulkan {

// Features shaders may use in faster variants; none is required (the baseline reads 8/16-bit
// data through 32-bit words).
struct OptionalFeatures {
  bool storage_buffer_16bit = false;
  bool storage_buffer_8bit = false;
  bool shader_float16 = false;
  bool shader_int8 = false;
  bool shader_int16 = false;
  bool shader_int64 = false;
  bool integer_dot_product = false;
};

struct PhysicalDeviceProbe {
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties properties{};
  VkPhysicalDeviceMemoryProperties memory{};
  std::vector<std::string> extensions;
  uint32_t usable_api_version = VK_API_VERSION_1_0;  // min(instance, device): what we may call
  uint64_t max_allocation_bytes = 0;                 // 0 = not reported (Vulkan 1.0)
  OptionalFeatures features;
  bool subgroup_arithmetic = false;   // subgroupAdd in compute shaders (Vulkan 1.1)
  bool subgroup_size_fixed = false;   // every compute subgroup has info.subgroup_size lanes
  bool dot_accelerated = false;       // packed signed 4 × 8-bit dot products are fast
  bool texel_buffers = false;         // R32G32B32A32_UINT uniform texel buffers (TexelViews)
  DeviceInfo info;

  bool has_extension(std::string_view name) const;
};

PhysicalDeviceProbe probe_physical_device(const VulkanInstance& instance, VkPhysicalDevice device, int index);

std::string version_text(uint32_t version);  // "1.3.230"

}  // namespace pq::rt::vulkan
