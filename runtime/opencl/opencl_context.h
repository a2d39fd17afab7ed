// One opened OpenCL device: its context and in-order queue, plus what the program cache needs
// to know about it. Shared by the backend, its buffers and its recorded plans, so whichever of
// them is destroyed last releases the device.
#pragma once

#include <CL/cl.h>

#include <memory>
#include <string>

#include "runtime/device_info.h"
#include "runtime/opencl/cl_handle.h"

namespace pq::rt::opencl {

struct OpenCLContext {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  DeviceInfo info;
  std::string platform_name;
  std::string platform_version;
  // Declared before the queue so that the queue is released first.
  ContextHandle context;
  QueueHandle queue;

  OpenCLContext() = default;
  OpenCLContext(const OpenCLContext&) = delete;
  OpenCLContext& operator=(const OpenCLContext&) = delete;
  ~OpenCLContext();  // waits for the queue: kernels may still be using buffers released after it

  const std::string& device_name() const { return info.name; }

  // Opens "opencl:index"; throws naming the index and the number of devices when it is out of range.
  static std::shared_ptr<OpenCLContext> open(int index);
};

}  // namespace pq::rt::opencl
