#include "runtime/vulkan/vulkan_instance.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "runtime/vulkan/vulkan_backend.h"
#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";
constexpr const char* kNoDevice = "no Vulkan device found (is mesa-vulkan-drivers installed?)";

std::atomic<int> validation_messages{0};

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                                     VkDebugUtilsMessageTypeFlagsEXT,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
  ++validation_messages;
  std::fprintf(stderr, "vulkan validation: %s\n", data && data->pMessage ? data->pMessage : "(no message)");
  return VK_FALSE;  // never abort the call that triggered the message
}

VkDebugUtilsMessengerCreateInfoEXT messenger_info() {
  VkDebugUtilsMessengerCreateInfoEXT info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  info.pfnUserCallback = on_validation_message;
  return info;
}

// vkEnumerateInstanceVersion is missing from 1.0 loaders, so it is looked up, not linked.
uint32_t loader_api_version() {
  auto enumerate = reinterpret_cast<PFN_vkEnumerateInstanceVersion>(
      vkGetInstanceProcAddr(VK_NULL_HANDLE, "vkEnumerateInstanceVersion"));
  uint32_t version = VK_API_VERSION_1_0;
  if (enumerate && enumerate(&version) != VK_SUCCESS) version = VK_API_VERSION_1_0;
  return version;
}

bool has_layer(const char* name) {
  uint32_t count = 0;
  if (vkEnumerateInstanceLayerProperties(&count, nullptr) != VK_SUCCESS) return false;
  std::vector<VkLayerProperties> layers(count);
  if (vkEnumerateInstanceLayerProperties(&count, layers.data()) != VK_SUCCESS) return false;
  for (const auto& layer : layers) {
    if (std::strcmp(layer.layerName, name) == 0) return true;
  }
  return false;
}

void append_extensions(const char* layer, std::vector<std::string>& names) {
  uint32_t count = 0;
  if (vkEnumerateInstanceExtensionProperties(layer, &count, nullptr) != VK_SUCCESS) return;
  std::vector<VkExtensionProperties> extensions(count);
  if (vkEnumerateInstanceExtensionProperties(layer, &count, extensions.data()) != VK_SUCCESS) return;
  for (const auto& e : extensions) names.emplace_back(e.extensionName);
}

// Extensions of the loader and implicit layers, plus those `layer` provides when given.
std::vector<std::string> instance_extensions(const char* layer) {
  std::vector<std::string> names;
  append_extensions(nullptr, names);
  if (layer != nullptr) append_extensions(layer, names);
  return names;
}

bool contains(const std::vector<std::string>& names, const char* name) {
  for (const auto& n : names) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace

bool validation_requested() {
  const char* value = std::getenv("PORTAQUANT_VULKAN_VALIDATION");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

std::shared_ptr<VulkanInstance> VulkanInstance::acquire() {
  static std::mutex mutex;
  static std::weak_ptr<VulkanInstance> shared;
  const bool validation = validation_requested();
  std::lock_guard lock(mutex);
  if (auto instance = shared.lock(); instance && instance->validation_enabled() == validation) return instance;
  auto instance = std::make_shared<VulkanInstance>(validation);
  shared = instance;
  return instance;
}

VulkanInstance::VulkanInstance(bool validation) {
  api_version_ = loader_api_version() >= VK_API_VERSION_1_1 ? VK_API_VERSION_1_1 : VK_API_VERSION_1_0;
  if (validation && !has_layer(kValidationLayer)) {
    throw std::runtime_error(std::string("PORTAQUANT_VULKAN_VALIDATION=1 but ") + kValidationLayer +
                             " is not installed (Debian: vulkan-validationlayers)");
  }
  const auto available = instance_extensions(validation ? kValidationLayer : nullptr);
  std::vector<const char*> extensions;
  std::vector<const char*> layers;
  VkInstanceCreateFlags flags = 0;
  if (api_version_ < VK_API_VERSION_1_1 && contains(available, VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME)) {
    extensions.push_back(VK_KHR_GET_PHYSICAL_DEVICE_PROPERTIES_2_EXTENSION_NAME);
  }
  // MoltenVK and other non-conformant drivers are only listed when the application opts in.
  if (contains(available, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    extensions.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  const VkDebugUtilsMessengerCreateInfoEXT debug_info = messenger_info();
  if (validation) {
    if (!contains(available, VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
      throw std::runtime_error("PORTAQUANT_VULKAN_VALIDATION=1 but VK_EXT_debug_utils is not available");
    }
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    layers.push_back(kValidationLayer);
  }

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "portaquant";
  app.applicationVersion = VK_MAKE_API_VERSION(0, 0, 1, 0);
  app.pEngineName = "portaquant";
  app.apiVersion = api_version_;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pNext = validation ? &debug_info : nullptr;  // also reports problems of vkCreate/DestroyInstance
  info.flags = flags;
  info.pApplicationInfo = &app;
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  const VkResult result = vkCreateInstance(&info, nullptr, &instance_);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER) throw std::runtime_error(kNoDevice);
  check(result, "vkCreateInstance");

  if (validation) {
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
    const VkResult messenger_result =
        create ? create(instance_, &debug_info, nullptr, &messenger_) : VK_ERROR_EXTENSION_NOT_PRESENT;
    if (messenger_result != VK_SUCCESS) {
      vkDestroyInstance(instance_, nullptr);
      check(messenger_result, "vkCreateDebugUtilsMessengerEXT");
    }
  }
  const bool core_1_1 = api_version_ >= VK_API_VERSION_1_1;
  get_features2 = reinterpret_cast<PFN_vkGetPhysicalDeviceFeatures2>(vkGetInstanceProcAddr(
      instance_, core_1_1 ? "vkGetPhysicalDeviceFeatures2" : "vkGetPhysicalDeviceFeatures2KHR"));
  get_properties2 = reinterpret_cast<PFN_vkGetPhysicalDeviceProperties2>(vkGetInstanceProcAddr(
      instance_, core_1_1 ? "vkGetPhysicalDeviceProperties2" : "vkGetPhysicalDeviceProperties2KHR"));
}

VulkanInstance::~VulkanInstance() {
  if (messenger_ != VK_NULL_HANDLE) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance_, messenger_, nullptr);
  }
  vkDestroyInstance(instance_, nullptr);
}

std::vector<VkPhysicalDevice> VulkanInstance::physical_devices() const {
  uint32_t count = 0;
  check(vkEnumeratePhysicalDevices(instance_, &count, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> devices(count);
  if (count) check(vkEnumeratePhysicalDevices(instance_, &count, devices.data()), "vkEnumeratePhysicalDevices");
  devices.resize(count);
  if (devices.empty()) throw std::runtime_error(kNoDevice);
  return devices;
}

}  // namespace pq::rt::vulkan

namespace pq::rt {

int vulkan_validation_message_count() { return vulkan::validation_messages.load(); }

bool vulkan_validation_layer_available() { return vulkan::has_layer(vulkan::kValidationLayer); }

}  // namespace pq::rt
