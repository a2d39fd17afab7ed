#include "runtime/vulkan/vulkan_descriptor_pool.h"

#include <utility>

#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {

DescriptorPoolRecycler::~DescriptorPoolRecycler() {
  for (VkDescriptorPool pool : all_) vkDestroyDescriptorPool(device_, pool, nullptr);
}

VkDescriptorPool DescriptorPoolRecycler::acquire() {
  if (!free_.empty()) {
    const VkDescriptorPool pool = free_.back();
    free_.pop_back();
    return pool;
  }
  const VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kBuffersPerPool},
                                        {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, kTexelBuffersPerPool}};
  VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  info.maxSets = kSetsPerPool;
  info.poolSizeCount = 2;
  info.pPoolSizes = sizes;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  check(vkCreateDescriptorPool(device_, &info, nullptr, &pool), "vkCreateDescriptorPool");
  all_.push_back(pool);
  return pool;
}

void DescriptorPoolRecycler::release(VkDescriptorPool pool) {
  vkResetDescriptorPool(device_, pool, 0);
  free_.push_back(pool);
}

DescriptorArena::DescriptorArena(DescriptorArena&& other) noexcept
    : recycler_(other.recycler_), pools_(std::exchange(other.pools_, {})) {}

DescriptorArena& DescriptorArena::operator=(DescriptorArena&& other) noexcept {
  if (this != &other) {
    release();
    recycler_ = other.recycler_;
    pools_ = std::exchange(other.pools_, {});
  }
  return *this;
}

VkDescriptorSet DescriptorArena::allocate(VkDevice device, VkDescriptorSetLayout layout) {
  VkDescriptorSetAllocateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  info.descriptorSetCount = 1;
  info.pSetLayouts = &layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  if (!pools_.empty()) {
    info.descriptorPool = pools_.back();
    const VkResult result = vkAllocateDescriptorSets(device, &info, &set);
    if (result == VK_SUCCESS) return set;
    // A full pool is expected; move on to a fresh one. Anything else is a real failure.
    if (result != VK_ERROR_OUT_OF_POOL_MEMORY && result != VK_ERROR_FRAGMENTED_POOL) check(result, "vkAllocateDescriptorSets");
  }
  pools_.push_back(recycler_->acquire());
  info.descriptorPool = pools_.back();
  check(vkAllocateDescriptorSets(device, &info, &set), "vkAllocateDescriptorSets");
  return set;
}

void DescriptorArena::release() {
  for (VkDescriptorPool pool : pools_) recycler_->release(pool);
  pools_.clear();
}

}  // namespace pq::rt::vulkan
