// The Vulkan instance: API version, optional validation layer with a debug messenger, and
// the entry points for extended physical-device queries.
#pragma once

#include <vulkan/vulkan.h>

#include <memory>
#include <vector>

namespace pq::rt::vulkan {

class VulkanInstance {
 public:
  // Shares the live instance when its validation setting matches $PORTAQUANT_VULKAN_VALIDATION,
  // else creates one; throws a short reason when Vulkan is unusable.
  static std::shared_ptr<VulkanInstance> acquire();

  explicit VulkanInstance(bool validation);
  ~VulkanInstance();
  VulkanInstance(const VulkanInstance&) = delete;
  VulkanInstance& operator=(const VulkanInstance&) = delete;

  VkInstance handle() const { return instance_; }
  uint32_t api_version() const { return api_version_; }
  bool validation_enabled() const { return messenger_ != VK_NULL_HANDLE; }
  std::vector<VkPhysicalDevice> physical_devices() const;

  // vkGetPhysicalDevice{Features,Properties}2 (core 1.1 or the KHR extension); null on a bare 1.0 loader.
  PFN_vkGetPhysicalDeviceFeatures2 get_features2 = nullptr;
  PFN_vkGetPhysicalDeviceProperties2 get_properties2 = nullptr;

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  uint32_t api_version_ = VK_API_VERSION_1_0;
};

bool validation_requested();  // $PORTAQUANT_VULKAN_VALIDATION is "1"

}  // namespace pq::rt::vulkan
