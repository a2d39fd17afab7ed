// A recorded plan: launches captured once into a command buffer that is submitted again on
// every replay (no ONE_TIME_SUBMIT), with descriptor sets and buffers it keeps alive itself.
// Under PORTAQUANT_PROFILE each replay is waited for and its launches are timed on the device.
#pragma once

#include <vulkan/vulkan.h>

#include <memory>
#include <vector>

#include "runtime/backend.h"
#include "runtime/vulkan/vulkan_backend_impl.h"
#include "runtime/vulkan/vulkan_plan_timer.h"

namespace pq::rt::vulkan {

class VulkanRecordedPlan final : public RecordedPlan {
 public:
  explicit VulkanRecordedPlan(std::shared_ptr<VulkanBackend> backend);  // begins recording
  ~VulkanRecordedPlan() override;  // waits for its last replay
  VulkanRecordedPlan(const VulkanRecordedPlan&) = delete;
  VulkanRecordedPlan& operator=(const VulkanRecordedPlan&) = delete;

  void replay() override;
  size_t launch_count() const override { return launches_; }

  // While recording: where VulkanBackend::launch() puts launches.
  LaunchTarget target() { return {recorder_, descriptors_, buffers_in_use_}; }
  void count_launch(const std::string& kernel);
  void finish_recording();

 private:
  std::shared_ptr<VulkanBackend> backend_;  // replays need it; it outlives the plan
  VkDevice device_;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  VkCommandBuffer command_buffer_ = VK_NULL_HANDLE;
  CommandRecorder recorder_;
  DescriptorArena descriptors_;
  std::vector<std::shared_ptr<VulkanBuffer>> buffers_in_use_;
  std::unique_ptr<PlanTimer> timer_;  // PORTAQUANT_PROFILE only
  size_t launches_ = 0;
  uint64_t last_submission_ = 0;
};

}  // namespace pq::rt::vulkan
