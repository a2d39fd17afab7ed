#include "runtime/vulkan/vulkan_commands.h"

#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {
namespace {

constexpr VkPipelineStageFlags kDeviceStages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;

// Access masks must match the stages they are paired with.
VkAccessFlags writes_of(VkPipelineStageFlags stages) {
  VkAccessFlags access = 0;
  if (stages & VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT) access |= VK_ACCESS_SHADER_WRITE_BIT;
  if (stages & VK_PIPELINE_STAGE_TRANSFER_BIT) access |= VK_ACCESS_TRANSFER_WRITE_BIT;
  return access;
}

VkAccessFlags accesses_of(VkPipelineStageFlags stages) {
  VkAccessFlags access = 0;
  if (stages & VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT) access |= VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  if (stages & VK_PIPELINE_STAGE_TRANSFER_BIT) access |= VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  if (stages & VK_PIPELINE_STAGE_HOST_BIT) access |= VK_ACCESS_HOST_READ_BIT;
  return access;
}

}  // namespace

void CommandRecorder::begin(VkCommandBuffer command_buffer, VkCommandBufferUsageFlags usage) {
  VkCommandBufferBeginInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  info.flags = usage;
  check(vkBeginCommandBuffer(command_buffer, &info), "vkBeginCommandBuffer");
  command_buffer_ = command_buffer;
  previous_stages_ = kDeviceStages;  // whatever earlier submissions still do
  dispatches_ = 0;
}

void CommandRecorder::dispatch(const ComputePipeline& pipeline, VkDescriptorSet set,
                               std::span<const std::byte> push_constants, const std::array<uint32_t, 3>& groups) {
  barrier_before(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
  vkCmdBindPipeline(command_buffer_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline);
  if (set != VK_NULL_HANDLE) {
    vkCmdBindDescriptorSets(command_buffer_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout, 0, 1, &set, 0, nullptr);
  }
  if (!push_constants.empty()) {
    vkCmdPushConstants(command_buffer_, pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       static_cast<uint32_t>(push_constants.size()), push_constants.data());
  }
  vkCmdDispatch(command_buffer_, groups[0], groups[1], groups[2]);
  ++dispatches_;
}

void CommandRecorder::copy(VkBuffer source, VkBuffer destination, const VkBufferCopy& region) {
  barrier_before(VK_PIPELINE_STAGE_TRANSFER_BIT);
  vkCmdCopyBuffer(command_buffer_, source, destination, 1, &region);
}

void CommandRecorder::end() {
  barrier_before(VK_PIPELINE_STAGE_HOST_BIT);
  const VkCommandBuffer command_buffer = command_buffer_;
  command_buffer_ = VK_NULL_HANDLE;
  check(vkEndCommandBuffer(command_buffer), "vkEndCommandBuffer");
}

void CommandRecorder::barrier_before(VkPipelineStageFlags stage) {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = writes_of(previous_stages_);
  barrier.dstAccessMask = accesses_of(stage);
  vkCmdPipelineBarrier(command_buffer_, previous_stages_, stage, 0, 1, &barrier, 0, nullptr, 0, nullptr);
  previous_stages_ = stage;
}

}  // namespace pq::rt::vulkan
