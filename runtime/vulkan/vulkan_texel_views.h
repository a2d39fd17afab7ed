// The uniform texel buffer views (VK_FORMAT_R32G32B32A32_UINT) of one VkBuffer that kernels
// bind (KernelLaunch::texel_buffers), made on first use and destroyed with the buffer: a
// recorded plan replays the descriptor sets that name them.
#pragma once

#include <vulkan/vulkan.h>

#include <map>
#include <mutex>
#include <utility>

namespace pq::rt::vulkan {

class TexelViews {
 public:
  static constexpr VkDeviceSize kTexelBytes = 16;
  static constexpr VkFormat kFormat = VK_FORMAT_R32G32B32A32_UINT;

  TexelViews() = default;
  ~TexelViews();  // destroy() must have run
  TexelViews(const TexelViews&) = delete;
  TexelViews& operator=(const TexelViews&) = delete;

  // The view of [offset, offset + bytes) of `buffer`, its whole texels (bytes rounded down).
  VkBufferView get(VkDevice device, VkBuffer buffer, VkDeviceSize offset, VkDeviceSize bytes);
  void destroy(VkDevice device);

 private:
  std::mutex mutex_;  // buffers are shared between threads like the host tensors they back
  std::map<std::pair<VkDeviceSize, VkDeviceSize>, VkBufferView> views_;
};

}  // namespace pq::rt::vulkan
