// Entry points of the Vulkan backend (runtime/api_backends.h and vulkan_backend.h).
#include <stdexcept>
#include <string>

#include "runtime/api_backends.h"
#include "runtime/vulkan/vulkan_backend.h"
#include "runtime/vulkan/vulkan_backend_impl.h"
#include "runtime/vulkan/vulkan_instance.h"
#include "runtime/vulkan/vulkan_probe.h"

namespace pq::rt {
namespace {

const vulkan::VulkanBackend& as_vulkan(const Backend& backend) {
  const auto* vulkan_backend = dynamic_cast<const vulkan::VulkanBackend*>(&backend);
  if (!vulkan_backend) throw std::invalid_argument("device " + backend.info().id() + " is not a Vulkan device");
  return *vulkan_backend;
}

}  // namespace

std::vector<DeviceInfo> vulkan_devices() {
  const auto instance = vulkan::VulkanInstance::acquire();
  const auto handles = instance->physical_devices();
  std::vector<DeviceInfo> devices;
  for (size_t i = 0; i < handles.size(); ++i) {
    devices.push_back(vulkan::probe_physical_device(*instance, handles[i], static_cast<int>(i)).info);
  }
  return devices;
}

std::shared_ptr<Backend> open_vulkan_device(int index, const std::optional<KernelTiers>& tiers) {
  return open_vulkan_device(index, VulkanBackendOptions{.tiers = tiers});
}

std::shared_ptr<Backend> open_vulkan_device(int index, const VulkanBackendOptions& options) {
  auto instance = vulkan::VulkanInstance::acquire();
  const auto handles = instance->physical_devices();
  if (index < 0 || static_cast<size_t>(index) >= handles.size()) {
    throw std::out_of_range("vulkan:" + std::to_string(index) + " does not exist: there are " +
                            std::to_string(handles.size()) + " Vulkan device(s)");
  }
  auto probe = vulkan::probe_physical_device(*instance, handles[index], index);
  if (options.tiers) name_tiers(probe.info, *options.tiers);
  auto device = std::make_shared<vulkan::VulkanDevice>(std::move(instance), std::move(probe));
  return std::make_shared<vulkan::VulkanBackend>(std::move(device), options);
}

VulkanPipelineStats vulkan_pipeline_stats(const Backend& backend) { return as_vulkan(backend).pipeline_stats(); }

VulkanMemoryStats vulkan_memory_stats(const Backend& backend) { return as_vulkan(backend).memory_stats(); }

}  // namespace pq::rt
