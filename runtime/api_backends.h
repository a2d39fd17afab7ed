// Entry points of the API backends, compiled in when their SDK was found at configure time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "runtime/backend.h"

namespace pq::rt {

// Each lists its devices (throwing a short reason when the API is unusable) and opens one.
std::vector<DeviceInfo> opencl_devices();
std::shared_ptr<Backend> open_opencl_device(int index);
std::vector<DeviceInfo> vulkan_devices();
std::shared_ptr<Backend> open_vulkan_device(int index);

}  // namespace pq::rt
