// The VkPipelineCache kept on disk between runs, because drivers like lavapipe compile every
// pipeline with LLVM at creation. The file is only handed to the driver when its header names
// this very device and driver (a stale or foreign blob is a cache miss, never an error).
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>

#include "runtime/vulkan/vulkan_device.h"

namespace pq::rt::vulkan {

// The vulkan/ folder of the kernel cache (runtime/cache_dir.h); empty when there is none.
std::filesystem::path cache_directory();

// <cache dir>/vulkan/<vendorID>-<deviceID>-<driverVersion>-<pipelineCacheUUID>.bin (hex numbers).
std::filesystem::path pipeline_cache_file(const VkPhysicalDeviceProperties& properties);

// Whether `data` starts with a VkPipelineCacheHeaderVersionOne for this device and driver.
bool pipeline_cache_header_matches(std::span<const std::byte> data, const VkPhysicalDeviceProperties& properties);

class PersistentPipelineCache {
 public:
  explicit PersistentPipelineCache(const VulkanDevice& device);
  ~PersistentPipelineCache();  // saves when the driver's data changed, then destroys the cache
  PersistentPipelineCache(const PersistentPipelineCache&) = delete;
  PersistentPipelineCache& operator=(const PersistentPipelineCache&) = delete;

  VkPipelineCache handle() const { return cache_; }
  bool loaded() const { return loaded_; }  // the file matched and seeded the cache
  // Writes the cache atomically when its data differs from what was loaded; reports failures
  // on stderr instead of throwing (a cache that cannot be saved only costs time).
  void save_if_changed() noexcept;

 private:
  VkDevice device_;
  std::filesystem::path path_;
  std::string loaded_data_;
  bool loaded_ = false;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
};

}  // namespace pq::rt::vulkan
