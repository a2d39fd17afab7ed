#include "runtime/vulkan/vulkan_staging.h"

#include <stdexcept>

#include "runtime/vulkan/vulkan_error.h"
#include "runtime/vulkan/vulkan_memory_pool.h"

namespace pq::rt::vulkan {

StagingBuffer::StagingBuffer(const VulkanDevice& device, VkDeviceSize bytes) : device_(device.handle()), bytes_(bytes) {
  VkBufferCreateInfo buffer_info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  buffer_info.size = bytes;
  buffer_info.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  buffer_info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device_, &buffer_info, nullptr, &buffer_), "vkCreateBuffer (staging)");
  try {
    VkMemoryRequirements requirements;
    vkGetBufferMemoryRequirements(device_, buffer_, &requirements);
    // Cached memory makes the host's reads of downloads fast; coherent spares explicit flushes.
    const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const auto& memory = device.probe().memory;
    int type = find_memory_type(memory, requirements.memoryTypeBits, coherent | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (type < 0) type = find_memory_type(memory, requirements.memoryTypeBits, coherent);
    if (type < 0) throw std::runtime_error("no host-visible coherent memory type for staging");
    VkMemoryAllocateInfo info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    info.allocationSize = requirements.size;
    info.memoryTypeIndex = static_cast<uint32_t>(type);
    check(vkAllocateMemory(device_, &info, nullptr, &memory_), "vkAllocateMemory (staging)");
    check(vkBindBufferMemory(device_, buffer_, memory_, 0), "vkBindBufferMemory (staging)");
    void* pointer = nullptr;
    check(vkMapMemory(device_, memory_, 0, VK_WHOLE_SIZE, 0, &pointer), "vkMapMemory (staging)");
    data_ = static_cast<std::byte*>(pointer);
  } catch (...) {
    vkDestroyBuffer(device_, buffer_, nullptr);
    vkFreeMemory(device_, memory_, nullptr);
    throw;
  }
}

StagingBuffer::~StagingBuffer() {
  vkDestroyBuffer(device_, buffer_, nullptr);
  vkFreeMemory(device_, memory_, nullptr);
}

}  // namespace pq::rt::vulkan
