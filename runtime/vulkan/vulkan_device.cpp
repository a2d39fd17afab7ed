#include "runtime/vulkan/vulkan_device.h"

#include <stdexcept>
#include <vector>

#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {
namespace {

// A compute-only family when there is one (the asynchronous compute queue of discrete GPUs,
// not shared with a desktop compositor), else any family that can compute.
uint32_t choose_compute_family(VkPhysicalDevice device, const std::string& label) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
  int any_compute = -1;
  for (uint32_t i = 0; i < count; ++i) {
    const VkQueueFlags flags = families[i].queueFlags;
    if (!(flags & VK_QUEUE_COMPUTE_BIT) || families[i].queueCount == 0) continue;
    if (!(flags & VK_QUEUE_GRAPHICS_BIT)) return i;
    if (any_compute < 0) any_compute = static_cast<int>(i);
  }
  if (any_compute < 0) throw std::runtime_error(label + ": no queue family supports compute");
  return static_cast<uint32_t>(any_compute);
}

// The feature structures handed to vkCreateDevice, holding only what the probe found supported.
struct EnabledFeatures {
  VkPhysicalDeviceFeatures2 base{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDevice16BitStorageFeatures storage16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDevice8BitStorageFeaturesKHR storage8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES_KHR};
  VkPhysicalDeviceShaderFloat16Int8FeaturesKHR float16_int8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR};
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  std::vector<const char*> extensions;
  bool use_features2 = false;

  EnabledFeatures(const PhysicalDeviceProbe& probe, bool have_features2) : use_features2(have_features2) {
    const OptionalFeatures& f = probe.features;
    base.features.shaderInt16 = f.shader_int16;
    base.features.shaderInt64 = f.shader_int64;
    auto enable_extension = [&](const char* name) {
      if (probe.has_extension(name)) extensions.push_back(name);
    };
    // Required by the spec whenever the driver is a portability (non-conformant) implementation.
    enable_extension("VK_KHR_portability_subset");
    if (!use_features2) return;
    VkBaseOutStructure* tail = reinterpret_cast<VkBaseOutStructure*>(&base);
    auto link = [&tail](void* next) {
      tail->pNext = static_cast<VkBaseOutStructure*>(next);
      tail = tail->pNext;
    };
    if (f.storage_buffer_16bit) {
      storage16.storageBuffer16BitAccess = VK_TRUE;
      if (probe.usable_api_version < VK_API_VERSION_1_1) enable_extension(VK_KHR_16BIT_STORAGE_EXTENSION_NAME);
      link(&storage16);
    }
    if (f.storage_buffer_8bit) {
      storage8.storageBuffer8BitAccess = VK_TRUE;
      enable_extension(VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
      if (probe.usable_api_version < VK_API_VERSION_1_1) enable_extension(VK_KHR_STORAGE_BUFFER_STORAGE_CLASS_EXTENSION_NAME);
      link(&storage8);
    }
    if (f.shader_float16 || f.shader_int8) {
      float16_int8.shaderFloat16 = f.shader_float16;
      float16_int8.shaderInt8 = f.shader_int8;
      enable_extension(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
      link(&float16_int8);
    }
    if (f.integer_dot_product) {
      dot.shaderIntegerDotProduct = VK_TRUE;
      enable_extension(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
      link(&dot);
    }
  }
  EnabledFeatures(const EnabledFeatures&) = delete;  // the chain points into this object
  EnabledFeatures& operator=(const EnabledFeatures&) = delete;
};

}  // namespace

VulkanDevice::VulkanDevice(std::shared_ptr<VulkanInstance> instance, PhysicalDeviceProbe probe)
    : instance_(std::move(instance)), probe_(std::move(probe)) {
  label_ = probe_.info.id() + " (" + probe_.info.name + ")";
  queue_family_ = choose_compute_family(probe_.handle, label_);
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = queue_family_;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;

  const EnabledFeatures features(probe_, instance_->get_features2 != nullptr);
  VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  info.pNext = features.use_features2 ? &features.base : nullptr;
  info.pEnabledFeatures = features.use_features2 ? nullptr : &features.base.features;
  info.queueCreateInfoCount = 1;
  info.pQueueCreateInfos = &queue_info;
  info.enabledExtensionCount = static_cast<uint32_t>(features.extensions.size());
  info.ppEnabledExtensionNames = features.extensions.data();
  try {
    check(vkCreateDevice(probe_.handle, &info, nullptr, &device_), "vkCreateDevice");
  } catch (const std::exception& e) {
    throw std::runtime_error(label_ + ": " + e.what());
  }
  vkGetDeviceQueue(device_, queue_family_, 0, &queue_);
}

VulkanDevice::~VulkanDevice() {
  vkDeviceWaitIdle(device_);
  vkDestroyDevice(device_, nullptr);
}

}  // namespace pq::rt::vulkan
