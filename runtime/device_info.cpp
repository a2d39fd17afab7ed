#include "runtime/device_info.h"

namespace pq::rt {

std::string_view api_name(Api api) {
  switch (api) {
    case Api::Cpu: return "cpu";
    case Api::OpenCL: return "opencl";
    case Api::Vulkan: return "vulkan";
  }
  return "?";
}

std::string DeviceInfo::id() const {
  if (api == Api::Cpu) return "cpu";
  return std::string(api_name(api)) + ":" + std::to_string(index) + (tiers_named ? "/" + tier_list(tiers) : "");
}

std::string DeviceInfo::description() const {
  if (api == Api::Cpu) return name;
  return name + " (" + api_version + ", driver " + driver_version + ", kernel tiers " + tier_list(tiers) + ")";
}

}  // namespace pq::rt
