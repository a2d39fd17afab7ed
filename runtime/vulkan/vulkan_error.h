// VkResult handling: every failing Vulkan call becomes an exception whose message names the
// call and the result, so a caller can add the device and op and rethrow.
#pragma once

#include <vulkan/vulkan.h>

#include <string>
#include <string_view>

namespace pq::rt::vulkan {

std::string_view result_name(VkResult result);  // "VK_ERROR_DEVICE_LOST"

// Throws std::runtime_error("<what> failed: <result name> (<meaning>)") unless result is VK_SUCCESS.
void check(VkResult result, std::string_view what);

}  // namespace pq::rt::vulkan
