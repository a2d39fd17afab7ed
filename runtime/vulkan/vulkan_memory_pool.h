// Device memory in pooled blocks: VkDeviceMemory is allocated 64 MiB at a time (bigger requests
// get a block of their own) and every buffer is a VkBuffer bound to an aligned range of a block.
// Freed ranges go back to their block's free list; an emptied block is kept as a spare.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/backend.h"
#include "runtime/vulkan/vulkan_backend.h"
#include "runtime/vulkan/vulkan_device.h"
#include "runtime/vulkan/vulkan_texel_views.h"

namespace pq::rt::vulkan {

class VulkanMemoryPool;

class VulkanBuffer final : public DeviceBuffer, public std::enable_shared_from_this<VulkanBuffer> {
 public:
  struct Placement {
    void* block = nullptr;  // the pool's block, opaque to the buffer
    VkDeviceSize offset = 0;
    VkDeviceSize bytes = 0;  // as the memory requirements say, alignment included
  };

  VulkanBuffer(std::shared_ptr<VulkanMemoryPool> pool, VkBuffer buffer, size_t requested_bytes,
               VkDeviceSize buffer_bytes, Placement placement, std::byte* mapped);
  ~VulkanBuffer() override;
  VulkanBuffer(const VulkanBuffer&) = delete;
  VulkanBuffer& operator=(const VulkanBuffer&) = delete;

  size_t size() const override { return requested_bytes_; }
  VkBuffer handle() const { return buffer_; }
  // The VkBuffer's size: the request rounded up to whole 32-bit words, so that shaders reading
  // 8/16-bit data as words never step past the bound range.
  VkDeviceSize buffer_bytes() const { return buffer_bytes_; }
  std::byte* mapped() const { return mapped_; }  // null unless the host copies directly
  const VulkanMemoryPool* pool() const { return pool_.get(); }
  // [offset, offset + bytes) as a uniform texel buffer view, kept while the buffer lives.
  VkBufferView texel_view(VkDeviceSize offset, VkDeviceSize bytes);

 private:
  std::shared_ptr<VulkanMemoryPool> pool_;  // keeps the device alive while the buffer is
  VkBuffer buffer_;
  size_t requested_bytes_;
  VkDeviceSize buffer_bytes_;
  Placement placement_;
  std::byte* mapped_;
  TexelViews texel_views_;
};

class VulkanMemoryPool : public std::enable_shared_from_this<VulkanMemoryPool> {
 public:
  static constexpr VkDeviceSize kBlockBytes = VkDeviceSize{64} << 20;

  // `allow_direct_host_copies`: map device memory when it is host-visible and coherent.
  VulkanMemoryPool(std::shared_ptr<VulkanDevice> device, bool allow_direct_host_copies);
  ~VulkanMemoryPool();
  VulkanMemoryPool(const VulkanMemoryPool&) = delete;
  VulkanMemoryPool& operator=(const VulkanMemoryPool&) = delete;

  std::shared_ptr<VulkanBuffer> allocate(size_t bytes);
  bool host_visible() const { return mapped_; }
  VulkanMemoryStats stats() const;
  const VulkanDevice& device() const { return *device_; }

 private:
  friend class VulkanBuffer;
  struct Block {
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkDeviceSize bytes = 0;
    std::byte* mapped = nullptr;
    bool dedicated = false;
    VkDeviceSize used = 0;
    std::map<VkDeviceSize, VkDeviceSize> free_ranges;  // offset -> length, never adjacent
  };

  VulkanBuffer::Placement place(const VkMemoryRequirements& requirements);
  Block* create_block(VkDeviceSize bytes, bool dedicated);
  void destroy_block(Block* block);
  void release(VkBuffer buffer, const VulkanBuffer::Placement& placement);
  bool release_spare_blocks();

  std::shared_ptr<VulkanDevice> device_;
  uint32_t memory_type_ = 0;
  bool mapped_ = false;
  VkDeviceSize block_bytes_ = kBlockBytes;
  std::vector<std::unique_ptr<Block>> blocks_;
  mutable std::mutex mutex_;  // buffers may be dropped on any thread
};

// Rounds `value` up to a multiple of `alignment` (a power of two or any positive number).
inline VkDeviceSize align_up(VkDeviceSize value, VkDeviceSize alignment) {
  return alignment <= 1 ? value : (value + alignment - 1) / alignment * alignment;
}

// The first memory type allowed by `type_bits` that has all of `required` flags and none of
// `excluded`; -1 when there is none.
int find_memory_type(const VkPhysicalDeviceMemoryProperties& memory, uint32_t type_bits, VkMemoryPropertyFlags required,
                     VkMemoryPropertyFlags excluded = 0);

}  // namespace pq::rt::vulkan
