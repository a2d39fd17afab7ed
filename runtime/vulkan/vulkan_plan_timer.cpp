#include "runtime/vulkan/vulkan_plan_timer.h"

#include "runtime/launch_profile.h"
#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {
namespace {

uint32_t timestamp_bits(const VulkanDevice& device) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device.probe().handle, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(device.probe().handle, &count, families.data());
  return device.queue_family() < count ? families[device.queue_family()].timestampValidBits : 0;
}

}  // namespace

PlanTimer::PlanTimer(const VulkanDevice& device) : device_(device.handle()), device_id_(device.info().id()) {
  const uint32_t bits = timestamp_bits(device);
  if (bits == 0 || device.limits().timestampPeriod <= 0) return;
  valid_mask_ = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  nanoseconds_per_tick_ = device.limits().timestampPeriod;
  VkQueryPoolCreateInfo info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  info.queryType = VK_QUERY_TYPE_TIMESTAMP;
  info.queryCount = kCapacity;
  check(vkCreateQueryPool(device_, &info, nullptr, &pool_), "vkCreateQueryPool");
}

PlanTimer::~PlanTimer() {
  if (pool_ != VK_NULL_HANDLE) vkDestroyQueryPool(device_, pool_, nullptr);
}

void PlanTimer::record_start(VkCommandBuffer command_buffer) {
  if (!usable()) return;
  vkCmdResetQueryPool(command_buffer, pool_, 0, kCapacity);
  vkCmdWriteTimestamp(command_buffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_, 0);
}

void PlanTimer::record_after_launch(VkCommandBuffer command_buffer, const std::string& kernel) {
  if (!usable() || kernels_.size() + 1 >= kCapacity) return;
  kernels_.push_back(kernel);
  vkCmdWriteTimestamp(command_buffer, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_, static_cast<uint32_t>(kernels_.size()));
}

void PlanTimer::report(size_t launches, double wall_seconds) {
  double on_device = 0;
  if (usable()) {
    std::vector<uint64_t> ticks(kernels_.size() + 1);
    check(vkGetQueryPoolResults(device_, pool_, 0, static_cast<uint32_t>(ticks.size()), ticks.size() * sizeof(uint64_t),
                                ticks.data(), sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "vkGetQueryPoolResults");
    for (size_t i = 0; i < kernels_.size(); ++i) {
      const double seconds = static_cast<double>((ticks[i + 1] - ticks[i]) & valid_mask_) * nanoseconds_per_tick_ * 1e-9;
      record_plan_launch_time(device_id_, kernels_[i], seconds);
      on_device += seconds;
    }
  }
  record_plan_replay(device_id_, launches, wall_seconds, on_device);
}

}  // namespace pq::rt::vulkan
