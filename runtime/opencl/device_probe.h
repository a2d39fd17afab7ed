// Finding OpenCL devices and describing what they can do. Devices are numbered by their
// position in the list of every platform's devices, in the order the ICD loader reports them,
// so "opencl:N" names the same device from one run to the next.
#pragma once

#include <CL/cl.h>

#include <string>
#include <vector>

#include "runtime/device_info.h"

namespace pq::rt::opencl {

struct DeviceRef {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
};

// Every device of every platform; throws when the loader finds no platform at all.
std::vector<DeviceRef> enumerate_devices();

DeviceInfo describe_device(const DeviceRef& ref, int index);

std::string platform_string(cl_platform_id platform, cl_platform_info param);
std::string device_string(cl_device_id device, cl_device_info param);

}  // namespace pq::rt::opencl
