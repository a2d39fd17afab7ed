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
  return api == Api::Cpu ? std::string("cpu") : std::string(api_name(api)) + ":" + std::to_string(index);
}

}  // namespace pq::rt
