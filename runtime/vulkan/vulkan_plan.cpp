#include "runtime/vulkan/vulkan_plan.h"

#include <chrono>
#include <cstdio>

#include "runtime/launch_profile.h"
#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {

VulkanRecordedPlan::VulkanRecordedPlan(std::shared_ptr<VulkanBackend> backend)
    : backend_(std::move(backend)), device_(backend_->device().handle()), descriptors_(backend_->descriptor_pools()) {
  // A pool of its own: command pools are not thread-safe, and the plan may be destroyed
  // independently of the backend's eager command buffers.
  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.queueFamilyIndex = backend_->device().queue_family();
  check(vkCreateCommandPool(device_, &pool_info, nullptr, &command_pool_), "vkCreateCommandPool");
  try {
    VkCommandBufferAllocateInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    info.commandPool = command_pool_;
    info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    info.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(device_, &info, &command_buffer_), "vkAllocateCommandBuffers");
    recorder_.begin(command_buffer_, 0);  // replayed many times: no ONE_TIME_SUBMIT
    if (launch_profiling()) {
      timer_ = std::make_unique<PlanTimer>(backend_->device());
      timer_->record_start(command_buffer_);
    }
  } catch (...) {
    vkDestroyCommandPool(device_, command_pool_, nullptr);
    throw;
  }
}

VulkanRecordedPlan::~VulkanRecordedPlan() {
  try {
    backend_->wait_for(last_submission_);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portaquant: %s: waiting for a recorded plan: %s\n", backend_->device().label().c_str(), e.what());
    vkDeviceWaitIdle(device_);
  }
  descriptors_.release();
  vkDestroyCommandPool(device_, command_pool_, nullptr);  // frees the command buffer
}

void VulkanRecordedPlan::finish_recording() { recorder_.end(); }

void VulkanRecordedPlan::count_launch(const std::string& kernel) {
  ++launches_;
  if (timer_) timer_->record_after_launch(command_buffer_, kernel);
}

void VulkanRecordedPlan::replay() {
  if (!timer_) {
    last_submission_ = backend_->submit_plan(command_buffer_, last_submission_);
    return;
  }
  backend_->wait_for(last_submission_);  // the wall time is this replay's alone
  const auto start = std::chrono::steady_clock::now();
  last_submission_ = backend_->submit_plan(command_buffer_, last_submission_);
  backend_->wait_for(last_submission_);
  timer_->report(launches_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace pq::rt::vulkan
