#include "runtime/vulkan/vulkan_probe.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "runtime/vulkan/vulkan_texel_views.h"

namespace pq::rt::vulkan {
namespace {

std::string vendor_name(uint32_t vendor_id) {
  switch (vendor_id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x14E4: return "Broadcom";
    case 0x10005: return "Mesa";
    default: {
      char text[16];
      std::snprintf(text, sizeof text, "0x%X", vendor_id);
      return text;
    }
  }
}

std::string device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete gpu";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated gpu";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual gpu";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

std::vector<std::string> device_extensions(VkPhysicalDevice device) {
  uint32_t count = 0;
  if (vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr) != VK_SUCCESS) return {};
  std::vector<VkExtensionProperties> properties(count);
  if (vkEnumerateDeviceExtensionProperties(device, nullptr, &count, properties.data()) != VK_SUCCESS) return {};
  std::vector<std::string> names;
  for (const auto& p : properties) names.emplace_back(p.extensionName);
  return names;
}

// Appends structures to a pNext chain, in order.
class ChainBuilder {
 public:
  explicit ChainBuilder(void* head) : tail_(static_cast<VkBaseOutStructure*>(head)) {}
  void append(void* next) {
    tail_->pNext = static_cast<VkBaseOutStructure*>(next);
    tail_ = tail_->pNext;
  }

 private:
  VkBaseOutStructure* tail_;
};

void read_features(const VulkanInstance& instance, PhysicalDeviceProbe& probe) {
  VkPhysicalDeviceFeatures base{};
  vkGetPhysicalDeviceFeatures(probe.handle, &base);
  probe.features.shader_int16 = base.shaderInt16;
  probe.features.shader_int64 = base.shaderInt64;
  if (!instance.get_features2) return;

  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDevice16BitStorageFeatures storage16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDevice8BitStorageFeaturesKHR storage8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES_KHR};
  VkPhysicalDeviceShaderFloat16Int8FeaturesKHR float16_int8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR};
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  // A structure may only be chained when its extension (or core version) is there.
  const bool has16 = probe.usable_api_version >= VK_API_VERSION_1_1 || probe.has_extension(VK_KHR_16BIT_STORAGE_EXTENSION_NAME);
  const bool has8 = probe.has_extension(VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
  const bool has_f16_i8 = probe.has_extension(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
  const bool has_dot = probe.has_extension(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  ChainBuilder chain(&features);
  if (has16) chain.append(&storage16);
  if (has8) chain.append(&storage8);
  if (has_f16_i8) chain.append(&float16_int8);
  if (has_dot) chain.append(&dot);
  instance.get_features2(probe.handle, &features);
  probe.features.storage_buffer_16bit = has16 && storage16.storageBuffer16BitAccess;
  probe.features.storage_buffer_8bit = has8 && storage8.storageBuffer8BitAccess;
  probe.features.shader_float16 = has_f16_i8 && float16_int8.shaderFloat16;
  probe.features.shader_int8 = has_f16_i8 && float16_int8.shaderInt8;
  probe.features.integer_dot_product = has_dot && dot.shaderIntegerDotProduct;
}

// Reads the 1.1+ properties; returns the driver's own description ("llvmpipe Mesa 22.3.6 ...").
std::string read_extended_properties(const VulkanInstance& instance, PhysicalDeviceProbe& probe) {
  if (!instance.get_properties2) return {};
  VkPhysicalDeviceProperties2 properties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  VkPhysicalDeviceMaintenance3Properties maintenance3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceDriverPropertiesKHR driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES_KHR};
  const bool core_1_1 = probe.usable_api_version >= VK_API_VERSION_1_1;
  const bool has_maintenance3 = core_1_1 || probe.has_extension(VK_KHR_MAINTENANCE_3_EXTENSION_NAME);
  const bool has_driver = probe.usable_api_version >= VK_API_VERSION_1_2 ||
                          probe.has_extension(VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
  VkPhysicalDeviceSubgroupSizeControlPropertiesEXT size_control{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
  VkPhysicalDeviceShaderIntegerDotProductPropertiesKHR dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES_KHR};
  const bool has_size_control = core_1_1 && probe.has_extension(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  const bool has_dot = probe.has_extension(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  ChainBuilder chain(&properties);
  if (has_maintenance3) chain.append(&maintenance3);
  if (core_1_1) chain.append(&subgroup);
  if (has_driver) chain.append(&driver);
  if (has_size_control) chain.append(&size_control);
  if (has_dot) chain.append(&dot);
  instance.get_properties2(probe.handle, &properties);
  if (has_maintenance3) probe.max_allocation_bytes = maintenance3.maxMemoryAllocationSize;
  if (core_1_1) {
    probe.info.subgroup_size = subgroup.subgroupSize;
    probe.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                                (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  }
  // Without size control a driver may compile a shader for fewer lanes than subgroupSize
  // (Intel, AMD): the subgroup tier needs the size the host plans with.
  probe.subgroup_size_fixed = has_size_control && size_control.minSubgroupSize == size_control.maxSubgroupSize &&
                              size_control.maxSubgroupSize == subgroup.subgroupSize;
  probe.dot_accelerated = has_dot && dot.integerDotProduct4x8BitPackedSignedAccelerated;
  if (!has_driver) return {};
  std::string text = driver.driverName;
  if (driver.driverInfo[0] != '\0') text += std::string(text.empty() ? "" : " ") + driver.driverInfo;
  return text;
}

uint64_t largest_device_local_heap(const VkPhysicalDeviceMemoryProperties& memory) {
  uint64_t largest = 0;
  for (uint32_t i = 0; i < memory.memoryHeapCount; ++i) {
    if (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) largest = std::max(largest, memory.memoryHeaps[i].size);
  }
  return largest;
}

// The linear shaders' split needs a power-of-two subgroup no wider than their workgroup
// (shaders/linear_gemv.comp LIN_LOCAL = 64).
bool subgroup_split_fits(const PhysicalDeviceProbe& probe) {
  const uint32_t lanes = probe.info.subgroup_size;
  return probe.subgroup_arithmetic && probe.subgroup_size_fixed && lanes >= 2 && lanes <= 64 && (lanes & (lanes - 1)) == 0;
}

KernelTiers supported_tiers(const PhysicalDeviceProbe& probe) {
  KernelTiers t;
  t.int64 = probe.features.shader_int64;
  t.texel = probe.texel_buffers;
  t.ksplit = true;  // shared memory and barriers: core
  t.subgroup = subgroup_split_fits(probe);
  t.dot = probe.features.integer_dot_product;
  return t;
}

// CPU drivers run one invocation per row with all of k (no split: the reduction's barriers or
// subgroup operations cost llvmpipe more than they save) and read through texel buffers; GPUs
// split k, through subgroups where they can.
KernelTiers default_tiers(const PhysicalDeviceProbe& probe, const KernelTiers& supported) {
  const bool gpu = probe.properties.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU;
  KernelTiers t;
  t.int64 = supported.int64;
  t.texel = !gpu && supported.texel;  // measured on llvmpipe only
  t.subgroup = gpu && supported.subgroup;
  t.ksplit = gpu && !t.subgroup;
  t.dot = supported.dot && probe.dot_accelerated;
  return t;
}

}  // namespace

bool PhysicalDeviceProbe::has_extension(std::string_view name) const {
  return std::find(extensions.begin(), extensions.end(), name) != extensions.end();
}

std::string version_text(uint32_t version) {
  return std::to_string(VK_API_VERSION_MAJOR(version)) + "." + std::to_string(VK_API_VERSION_MINOR(version)) + "." +
         std::to_string(VK_API_VERSION_PATCH(version));
}

PhysicalDeviceProbe probe_physical_device(const VulkanInstance& instance, VkPhysicalDevice device, int index) {
  PhysicalDeviceProbe probe;
  probe.handle = device;
  vkGetPhysicalDeviceProperties(device, &probe.properties);
  vkGetPhysicalDeviceMemoryProperties(device, &probe.memory);
  probe.extensions = device_extensions(device);
  probe.usable_api_version = std::min(instance.api_version(), probe.properties.apiVersion);
  read_features(instance, probe);
  const std::string driver_text = read_extended_properties(instance, probe);
  VkFormatProperties texel_format{};
  vkGetPhysicalDeviceFormatProperties(device, TexelViews::kFormat, &texel_format);
  probe.texel_buffers = (texel_format.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT) != 0;

  const VkPhysicalDeviceLimits& limits = probe.properties.limits;
  DeviceInfo& info = probe.info;
  info.api = Api::Vulkan;
  info.index = index;
  info.name = probe.properties.deviceName;
  info.vendor = vendor_name(probe.properties.vendorID);
  info.device_type = device_type_name(probe.properties.deviceType);
  info.api_version = version_text(probe.properties.apiVersion);
  info.driver_version = driver_text.empty() ? std::to_string(probe.properties.driverVersion) : driver_text;
  info.memory_bytes = largest_device_local_heap(probe.memory);
  info.max_buffer_bytes = limits.maxStorageBufferRange;
  if (probe.max_allocation_bytes) info.max_buffer_bytes = std::min(info.max_buffer_bytes, probe.max_allocation_bytes);
  info.max_binding_bytes = limits.maxStorageBufferRange;
  info.binding_alignment = static_cast<uint32_t>(std::max<VkDeviceSize>(4, limits.minStorageBufferOffsetAlignment));
  if (probe.texel_buffers) {  // every view then suits a texel binding too
    info.max_texel_binding_bytes = uint64_t{limits.maxTexelBufferElements} * TexelViews::kTexelBytes;
    info.binding_alignment = std::max(info.binding_alignment, static_cast<uint32_t>(limits.minTexelBufferOffsetAlignment));
  }
  info.fp16_storage = probe.features.storage_buffer_16bit;
  info.fp16_arithmetic = probe.features.shader_float16;
  info.int8_storage = probe.features.storage_buffer_8bit;
  info.integer_dot_product = probe.features.integer_dot_product;
  info.max_workgroup_size = limits.maxComputeWorkGroupInvocations;
  info.shared_memory_bytes = limits.maxComputeSharedMemorySize;
  info.supported_tiers = supported_tiers(probe);
  info.tiers = default_tiers(probe, info.supported_tiers);
  return probe;
}

}  // namespace pq::rt::vulkan
