#include "runtime/opencl/opencl_context.h"

#include <stdexcept>

#include "runtime/launch_profile.h"
#include "runtime/opencl/cl_error.h"
#include "runtime/opencl/device_probe.h"

namespace pq::rt::opencl {

OpenCLContext::~OpenCLContext() {
  if (queue) clFinish(queue.get());
}

std::shared_ptr<OpenCLContext> OpenCLContext::open(int index) {
  const auto refs = enumerate_devices();
  if (index < 0 || index >= static_cast<int>(refs.size())) {
    throw std::runtime_error("opencl: no device opencl:" + std::to_string(index) + " (" + std::to_string(refs.size()) +
                             " device(s) found)");
  }
  const DeviceRef& ref = refs[static_cast<size_t>(index)];
  auto opened = std::make_shared<OpenCLContext>();
  opened->platform = ref.platform;
  opened->device = ref.device;
  opened->info = describe_device(ref, index);
  opened->platform_name = platform_string(ref.platform, CL_PLATFORM_NAME);
  opened->platform_version = platform_string(ref.platform, CL_PLATFORM_VERSION);

  const cl_context_properties properties[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(ref.platform), 0};
  cl_int status = CL_SUCCESS;
  opened->context = ContextHandle(clCreateContext(properties, 1, &ref.device, nullptr, nullptr, &status));
  if (status != CL_SUCCESS) throw_cl_error(status, opened->device_name(), "creating a context");
  // An in-order queue, so every command sees the results of those before it; with event
  // profiling only under PORTAQUANT_PROFILE (recorded plans time their launches).
  const cl_command_queue_properties queue_properties = launch_profiling() ? CL_QUEUE_PROFILING_ENABLE : 0;
  opened->queue = QueueHandle(clCreateCommandQueue(opened->context.get(), ref.device, queue_properties, &status));
  if (status != CL_SUCCESS) throw_cl_error(status, opened->device_name(), "creating a command queue");
  return opened;
}

}  // namespace pq::rt::opencl
