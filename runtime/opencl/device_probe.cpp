#include "runtime/opencl/device_probe.h"

#include <CL/cl_ext.h>

#include <algorithm>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "runtime/api_backends.h"
#include "runtime/opencl/cl_error.h"

namespace pq::rt::opencl {
namespace {

template <class T>
T device_value(cl_device_id device, cl_device_info param, T fallback = T{}) {
  T value{};
  return clGetDeviceInfo(device, param, sizeof(T), &value, nullptr) == CL_SUCCESS ? value : fallback;
}

// The extension string is a space-separated list; a substring test would let "cl_khr_fp16"
// match a longer name.
bool has_extension(const std::string& extensions, std::string_view name) {
  std::istringstream words(extensions);
  std::string word;
  while (words >> word) {
    if (word == name) return true;
  }
  return false;
}

std::string device_type_name(cl_device_id device) {
  const auto type = device_value<cl_device_type>(device, CL_DEVICE_TYPE);
  if (type & CL_DEVICE_TYPE_GPU) {
    return device_value<cl_bool>(device, CL_DEVICE_HOST_UNIFIED_MEMORY) ? "integrated gpu" : "gpu";
  }
  if (type & CL_DEVICE_TYPE_CPU) return "cpu";
  if (type & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
  return "custom";
}

// OpenCL 1.2 has no subgroup query; three vendor extensions report the SIMD width. Intel
// lists the sizes its compiler may choose, of which the largest is reported.
uint32_t vendor_subgroup_size(cl_device_id device, const std::string& extensions) {
  if (has_extension(extensions, "cl_nv_device_attribute_query")) {
    return device_value<cl_uint>(device, CL_DEVICE_WARP_SIZE_NV);
  }
  if (has_extension(extensions, "cl_amd_device_attribute_query")) {
    return device_value<cl_uint>(device, CL_DEVICE_WAVEFRONT_WIDTH_AMD);
  }
  if (has_extension(extensions, "cl_intel_required_subgroup_size")) {
    size_t sizes[16] = {};
    size_t bytes = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_SUB_GROUP_SIZES_INTEL, sizeof(sizes), sizes, &bytes) != CL_SUCCESS) return 0;
    return static_cast<uint32_t>(*std::max_element(sizes, sizes + std::min<size_t>(bytes / sizeof(size_t), 16)));
  }
  return 0;
}

std::vector<cl_platform_id> platforms() {
  cl_uint count = 0;
  const cl_int status = clGetPlatformIDs(0, nullptr, &count);
  if (status != CL_SUCCESS && status != -1001 /* CL_PLATFORM_NOT_FOUND_KHR */) {
    throw std::runtime_error("no OpenCL platform found: clGetPlatformIDs failed with " + describe_cl_status(status));
  }
  if (count == 0) throw std::runtime_error("no OpenCL platform found (is an ICD such as pocl-opencl-icd installed?)");
  std::vector<cl_platform_id> ids(count);
  clGetPlatformIDs(count, ids.data(), nullptr);
  return ids;
}

std::vector<cl_device_id> devices_of(cl_platform_id platform) {
  cl_uint count = 0;
  // A platform without devices answers CL_DEVICE_NOT_FOUND; it simply contributes none.
  if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &count) != CL_SUCCESS || count == 0) return {};
  std::vector<cl_device_id> ids(count);
  if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, ids.data(), nullptr) != CL_SUCCESS) return {};
  return ids;
}

template <class Query, class Handle, class Param>
std::string info_string(Query query, Handle handle, Param param) {
  size_t bytes = 0;
  if (query(handle, param, 0, nullptr, &bytes) != CL_SUCCESS || bytes == 0) return {};
  std::string text(bytes, '\0');
  if (query(handle, param, bytes, text.data(), nullptr) != CL_SUCCESS) return {};
  while (!text.empty() && (text.back() == '\0' || text.back() == ' ')) text.pop_back();
  return text;
}

uint32_t clamp_to_u32(uint64_t value) {
  return static_cast<uint32_t>(std::min<uint64_t>(value, std::numeric_limits<uint32_t>::max()));
}

}  // namespace

std::string platform_string(cl_platform_id platform, cl_platform_info param) {
  return info_string(clGetPlatformInfo, platform, param);
}

std::string device_string(cl_device_id device, cl_device_info param) {
  return info_string(clGetDeviceInfo, device, param);
}

std::vector<DeviceRef> enumerate_devices() {
  std::vector<DeviceRef> refs;
  for (cl_platform_id platform : platforms()) {
    for (cl_device_id device : devices_of(platform)) refs.push_back({platform, device});
  }
  return refs;
}

DeviceInfo describe_device(const DeviceRef& ref, int index) {
  const cl_device_id device = ref.device;
  const std::string extensions = device_string(device, CL_DEVICE_EXTENSIONS);
  DeviceInfo info;
  info.api = Api::OpenCL;
  info.index = index;
  info.name = device_string(device, CL_DEVICE_NAME);
  info.vendor = device_string(device, CL_DEVICE_VENDOR);
  info.device_type = device_type_name(device);
  info.api_version = device_string(device, CL_DEVICE_VERSION);
  info.driver_version = device_string(device, CL_DRIVER_VERSION);
  info.memory_bytes = device_value<cl_ulong>(device, CL_DEVICE_GLOBAL_MEM_SIZE);
  info.max_buffer_bytes = device_value<cl_ulong>(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  info.max_binding_bytes = info.max_buffer_bytes;  // a kernel argument may cover a whole allocation
  // Sub-buffer origins are aligned to CL_DEVICE_MEM_BASE_ADDR_ALIGN (given in bits).
  info.binding_alignment = std::max<cl_uint>(4, device_value<cl_uint>(device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, 1024) / 8);
  info.fp16_storage = true;  // vload_half / vstore_half are core OpenCL 1.2
  info.fp16_arithmetic = has_extension(extensions, "cl_khr_fp16");
  info.int8_storage = true;  // char buffers are core OpenCL
  info.integer_dot_product = has_extension(extensions, "cl_khr_integer_dot_product");
  info.subgroup_size = vendor_subgroup_size(device, extensions);
  info.max_workgroup_size = clamp_to_u32(device_value<size_t>(device, CL_DEVICE_MAX_WORK_GROUP_SIZE));
  info.shared_memory_bytes = device_value<cl_ulong>(device, CL_DEVICE_LOCAL_MEM_SIZE);
  return info;
}

}  // namespace pq::rt::opencl

namespace pq::rt {

std::vector<DeviceInfo> opencl_devices() {
  const auto refs = opencl::enumerate_devices();
  std::vector<DeviceInfo> infos;
  for (size_t i = 0; i < refs.size(); ++i) infos.push_back(opencl::describe_device(refs[i], static_cast<int>(i)));
  return infos;
}

}  // namespace pq::rt
