#include "runtime/vulkan/vulkan_texel_views.h"

#include <cassert>

#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {

TexelViews::~TexelViews() { assert(views_.empty()); }

VkBufferView TexelViews::get(VkDevice device, VkBuffer buffer, VkDeviceSize offset, VkDeviceSize bytes) {
  const std::lock_guard lock(mutex_);
  const auto key = std::make_pair(offset, bytes / kTexelBytes * kTexelBytes);
  if (auto it = views_.find(key); it != views_.end()) return it->second;
  VkBufferViewCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  info.buffer = buffer;
  info.format = kFormat;
  info.offset = key.first;
  info.range = key.second;
  VkBufferView view = VK_NULL_HANDLE;
  check(vkCreateBufferView(device, &info, nullptr, &view), "vkCreateBufferView");
  return views_.emplace(key, view).first->second;
}

void TexelViews::destroy(VkDevice device) {
  const std::lock_guard lock(mutex_);
  for (auto& [key, view] : views_) vkDestroyBufferView(device, view, nullptr);
  views_.clear();
}

}  // namespace pq::rt::vulkan
