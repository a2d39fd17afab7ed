// PORTAQUANT_PROFILE on Vulkan: a recorded plan's launches timed on the device by timestamps
// its command buffer writes itself (one at the start, one after each launch), read back after
// each replay into the launch profile (runtime/launch_profile.h). A launch's time is from the
// end of the previous one to its own end: its barrier, its dispatch and its execution.
#pragma once

#include <vulkan/vulkan.h>

#include <string>
#include <vector>

#include "runtime/vulkan/vulkan_device.h"

namespace pq::rt::vulkan {

class PlanTimer {
 public:
  explicit PlanTimer(const VulkanDevice& device);
  ~PlanTimer();
  PlanTimer(const PlanTimer&) = delete;
  PlanTimer& operator=(const PlanTimer&) = delete;

  // Whether the queue writes timestamps; a timer that cannot records nothing.
  bool usable() const { return pool_ != VK_NULL_HANDLE; }
  void record_start(VkCommandBuffer command_buffer);
  void record_after_launch(VkCommandBuffer command_buffer, const std::string& kernel);
  // After a replay has completed: its launches' times, and the replay's wall time.
  void report(size_t launches, double wall_seconds);

 private:
  static constexpr uint32_t kCapacity = 16384;  // timestamps; launches past it go untimed

  VkDevice device_;
  std::string device_id_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  double nanoseconds_per_tick_ = 1;
  uint64_t valid_mask_ = ~uint64_t{0};
  std::vector<std::string> kernels_;  // the launch after each timestamp but the first
};

}  // namespace pq::rt::vulkan
