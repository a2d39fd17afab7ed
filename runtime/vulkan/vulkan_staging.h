// A host-visible buffer through which uploads and downloads pass in chunks when device memory
// cannot be mapped (discrete GPUs), or when staging is forced for testing.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>

#include "runtime/vulkan/vulkan_device.h"

namespace pq::rt::vulkan {

class StagingBuffer {
 public:
  static constexpr VkDeviceSize kDefaultBytes = VkDeviceSize{16} << 20;

  StagingBuffer(const VulkanDevice& device, VkDeviceSize bytes);
  ~StagingBuffer();
  StagingBuffer(const StagingBuffer&) = delete;
  StagingBuffer& operator=(const StagingBuffer&) = delete;

  VkBuffer handle() const { return buffer_; }
  std::byte* data() const { return data_; }
  VkDeviceSize size() const { return bytes_; }

 private:
  VkDevice device_;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  std::byte* data_ = nullptr;
  VkDeviceSize bytes_;
};

}  // namespace pq::rt::vulkan
