// Public extras of the Vulkan backend beyond runtime/api_backends.h: options for opening a
// device, counters that tests and benchmarks read, and the validation-layer message count.
// Plain C++: including this header does not pull in <vulkan/vulkan.h>.
//
// Environment:
//   PORTAQUANT_VULKAN_VALIDATION=1  enable VK_LAYER_KHRONOS_validation + VK_EXT_debug_utils; each
//                                   warning or error is printed to stderr and counted.
//   PORTAQUANT_CACHE_DIR            pipeline cache directory (else $XDG_CACHE_HOME/portaquant, else
//                                   ~/.cache/portaquant); the file lives in its vulkan/ subfolder.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "runtime/backend.h"

namespace pq::rt {

struct VulkanBackendOptions {
  // Copy through a staging buffer even when device memory is host-visible, so that the path
  // discrete GPUs take can be tested on lavapipe and integrated GPUs.
  bool force_staging = false;
  std::optional<KernelTiers> tiers;  // the device's default tiers unless named
};

std::shared_ptr<Backend> open_vulkan_device(int index, const VulkanBackendOptions& options);

// Validation messages (warnings and errors) seen since the process started, over every instance.
int vulkan_validation_message_count();
// Whether VK_LAYER_KHRONOS_validation is installed (false when the loader itself is unusable).
bool vulkan_validation_layer_available();

struct VulkanPipelineStats {
  int pipelines_created = 0;            // vkCreateComputePipelines calls made by this backend
  bool cache_loaded = false;            // the on-disk pipeline cache matched this device and was used
  double pipeline_creation_seconds = 0; // wall time spent in vkCreateComputePipelines
};

struct VulkanMemoryStats {
  int blocks = 0;                 // VkDeviceMemory allocations held by the pool, dedicated ones included
  uint64_t block_bytes = 0;       // their total size
  uint64_t used_bytes = 0;        // bytes of live buffers, alignment included
  int descriptor_pools_created = 0;
  bool host_visible = false;      // uploads and downloads copy directly, without staging
};

// Both throw std::invalid_argument when `backend` is not a Vulkan backend.
VulkanPipelineStats vulkan_pipeline_stats(const Backend& backend);
VulkanMemoryStats vulkan_memory_stats(const Backend& backend);

}  // namespace pq::rt
