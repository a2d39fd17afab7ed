// Records dispatches and buffer copies into one command buffer, with a memory barrier before
// each command that makes the previous command's writes visible to it. Every command buffer
// starts with a barrier against earlier submissions (replays are submitted without waiting)
// and ends with one that makes device writes visible to the host.
#pragma once

#include <vulkan/vulkan.h>

#include <array>
#include <cstddef>
#include <span>

#include "runtime/vulkan/vulkan_pipelines.h"

namespace pq::rt::vulkan {

class CommandRecorder {
 public:
  void begin(VkCommandBuffer command_buffer, VkCommandBufferUsageFlags usage);
  // `push_constants` holds exactly pipeline.push_constant_bytes bytes.
  void dispatch(const ComputePipeline& pipeline, VkDescriptorSet set, std::span<const std::byte> push_constants,
                const std::array<uint32_t, 3>& groups);
  void copy(VkBuffer source, VkBuffer destination, const VkBufferCopy& region);
  void end();

  bool recording() const { return command_buffer_ != VK_NULL_HANDLE; }
  VkCommandBuffer handle() const { return command_buffer_; }
  size_t dispatches() const { return dispatches_; }

 private:
  void barrier_before(VkPipelineStageFlags stage);

  VkCommandBuffer command_buffer_ = VK_NULL_HANDLE;
  VkPipelineStageFlags previous_stages_ = 0;
  size_t dispatches_ = 0;
};

}  // namespace pq::rt::vulkan
