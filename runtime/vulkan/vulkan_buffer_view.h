// A window of a VulkanBuffer (Backend::view): bound as the descriptor range [offset, offset +
// range) of the parent VkBuffer, so that a kernel binding covers the window only.
#pragma once

#include <memory>

#include "runtime/vulkan/vulkan_memory_pool.h"

namespace pq::rt::vulkan {

class VulkanBufferView final : public DeviceBuffer {
 public:
  VulkanBufferView(std::shared_ptr<VulkanBuffer> parent, size_t offset, size_t bytes)
      : parent_(std::move(parent)), offset_(offset), bytes_(bytes) {}
  size_t size() const override { return bytes_; }
  VulkanBuffer& parent() const { return *parent_; }
  size_t offset() const { return offset_; }

 private:
  std::shared_ptr<VulkanBuffer> parent_;
  size_t offset_;
  size_t bytes_;
};

}  // namespace pq::rt::vulkan
