// The logical device: one compute queue and every optional feature the hardware has, so that
// later shader variants can use them; nothing here requires a feature.
#pragma once

#include <vulkan/vulkan.h>

#include <memory>
#include <string>

#include "runtime/vulkan/vulkan_instance.h"
#include "runtime/vulkan/vulkan_probe.h"

namespace pq::rt::vulkan {

class VulkanDevice {
 public:
  VulkanDevice(std::shared_ptr<VulkanInstance> instance, PhysicalDeviceProbe probe);
  ~VulkanDevice();
  VulkanDevice(const VulkanDevice&) = delete;
  VulkanDevice& operator=(const VulkanDevice&) = delete;

  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queue_family() const { return queue_family_; }
  const PhysicalDeviceProbe& probe() const { return probe_; }
  const DeviceInfo& info() const { return probe_.info; }
  const VkPhysicalDeviceLimits& limits() const { return probe_.properties.limits; }
  // "vulkan:0 (llvmpipe (LLVM 15.0.6, 256 bits))", the prefix of every error message.
  const std::string& label() const { return label_; }

 private:
  std::shared_ptr<VulkanInstance> instance_;  // outlives the device
  PhysicalDeviceProbe probe_;
  std::string label_;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
};

}  // namespace pq::rt::vulkan
