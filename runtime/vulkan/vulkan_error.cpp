#include "runtime/vulkan/vulkan_error.h"

#include <stdexcept>

namespace pq::rt::vulkan {
namespace {

// A few words for the results a user can act on; the name alone is enough for the others.
std::string_view result_meaning(VkResult result) {
  switch (result) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "out of host memory";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "out of device memory";
    case VK_ERROR_DEVICE_LOST: return "device lost: the driver reset the device or a kernel crashed";
    case VK_ERROR_INITIALIZATION_FAILED: return "driver initialisation failed";
    case VK_ERROR_LAYER_NOT_PRESENT: return "a requested layer is not installed";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "a requested extension is not supported";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "a requested feature is not supported";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "no compatible Vulkan driver (ICD) found";
    case VK_ERROR_TOO_MANY_OBJECTS: return "too many objects";
    case VK_ERROR_INVALID_SHADER_NV: return "the driver rejected the shader";
    default: return {};
  }
}

}  // namespace

std::string_view result_name(VkResult result) {
  switch (result) {
#define PQ_VK_RESULT_CASE(name) \
  case name: return #name;
    PQ_VK_RESULT_CASE(VK_SUCCESS)
    PQ_VK_RESULT_CASE(VK_NOT_READY)
    PQ_VK_RESULT_CASE(VK_TIMEOUT)
    PQ_VK_RESULT_CASE(VK_EVENT_SET)
    PQ_VK_RESULT_CASE(VK_EVENT_RESET)
    PQ_VK_RESULT_CASE(VK_INCOMPLETE)
    PQ_VK_RESULT_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    PQ_VK_RESULT_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    PQ_VK_RESULT_CASE(VK_ERROR_INITIALIZATION_FAILED)
    PQ_VK_RESULT_CASE(VK_ERROR_DEVICE_LOST)
    PQ_VK_RESULT_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    PQ_VK_RESULT_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    PQ_VK_RESULT_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    PQ_VK_RESULT_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    PQ_VK_RESULT_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    PQ_VK_RESULT_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    PQ_VK_RESULT_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    PQ_VK_RESULT_CASE(VK_ERROR_FRAGMENTED_POOL)
    PQ_VK_RESULT_CASE(VK_ERROR_UNKNOWN)
    PQ_VK_RESULT_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    PQ_VK_RESULT_CASE(VK_ERROR_FRAGMENTATION)
    PQ_VK_RESULT_CASE(VK_ERROR_INVALID_SHADER_NV)
    PQ_VK_RESULT_CASE(VK_PIPELINE_COMPILE_REQUIRED)
#undef PQ_VK_RESULT_CASE
    default: return "VkResult";
  }
}

void check(VkResult result, std::string_view what) {
  if (result == VK_SUCCESS) return;
  std::string message = std::string(what) + " failed: " + std::string(result_name(result));
  if (result_name(result) == "VkResult") message += " " + std::to_string(static_cast<int>(result));
  if (const auto meaning = result_meaning(result); !meaning.empty()) message += " (" + std::string(meaning) + ")";
  throw std::runtime_error(message);
}

}  // namespace pq::rt::vulkan
