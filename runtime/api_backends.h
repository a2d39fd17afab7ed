// Entry points of the API backends, compiled in when their SDK was found at configure time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/backend.h"

namespace pq::rt {

// Each lists its devices (throwing a short reason when the API is unusable) and opens one,
// with its default kernel tiers or the ones named (runtime/kernel_tiers.h).
std::vector<DeviceInfo> opencl_devices();
std::shared_ptr<Backend> open_opencl_device(int index, const std::optional<KernelTiers>& tiers = std::nullopt);
std::vector<DeviceInfo> vulkan_devices();
std::shared_ptr<Backend> open_vulkan_device(int index, const std::optional<KernelTiers>& tiers = std::nullopt);

}  // namespace pq::rt
