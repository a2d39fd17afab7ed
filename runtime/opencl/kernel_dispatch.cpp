#include "runtime/opencl/kernel_dispatch.h"

#include <stdexcept>

#include "runtime/opencl/cl_error.h"

namespace pq::rt::opencl {
namespace {

std::string dims(const std::array<size_t, 3>& v) {
  return std::to_string(v[0]) + "x" + std::to_string(v[1]) + "x" + std::to_string(v[2]);
}

[[noreturn]] void fail(const KernelSite& site, cl_int status, const std::string& what) {
  throw_cl_error(status, site.device, what + " of kernel '" + site.kernel + "'");
}

}  // namespace

std::string NDRange::describe() const { return "global " + dims(global) + ", local " + dims(local); }

NDRange nd_range_of(const KernelSite& site, const KernelLaunch& launch) {
  NDRange range;
  for (size_t i = 0; i < 3; ++i) {
    range.local[i] = launch.local[i];
    range.global[i] = static_cast<size_t>(launch.groups[i]) * launch.local[i];
  }
  if (launch.local[0] == 0 || launch.local[1] == 0 || launch.local[2] == 0) {
    throw std::invalid_argument("opencl: kernel '" + site.kernel + "' on " + site.device +
                                " was launched with a zero workgroup size (" + range.describe() + ")");
  }
  return range;
}

void set_kernel_arguments(const KernelSite& site, cl_kernel kernel, cl_uint argument_count,
                          const std::vector<cl_mem>& buffers, std::span<const std::byte> params) {
  const size_t given = buffers.size() + (params.empty() ? 0 : 1);
  if (given != argument_count) {
    throw std::invalid_argument("opencl: kernel '" + site.kernel + "' on " + site.device + " takes " +
                                std::to_string(argument_count) + " arguments but the launch gives " +
                                std::to_string(given) + " (" + std::to_string(buffers.size()) + " buffers" +
                                (params.empty() ? "" : " + params") + ")");
  }
  for (cl_uint i = 0; i < buffers.size(); ++i) {
    const cl_int status = clSetKernelArg(kernel, i, sizeof(cl_mem), &buffers[i]);
    if (status != CL_SUCCESS) fail(site, status, "setting buffer argument " + std::to_string(i));
  }
  if (params.empty()) return;
  const cl_int status = clSetKernelArg(kernel, static_cast<cl_uint>(buffers.size()), params.size(), params.data());
  if (status != CL_SUCCESS) {
    fail(site, status, "setting the params argument (" + std::to_string(params.size()) + " bytes)");
  }
}

void enqueue_kernel(const KernelSite& site, cl_command_queue queue, cl_kernel kernel, const NDRange& range,
                    cl_event* event) {
  if (event) *event = nullptr;
  if (range.empty()) return;  // zero groups: no work-items, which OpenCL 1.2 would reject as a size
  const cl_int status =
      clEnqueueNDRangeKernel(queue, kernel, 3, nullptr, range.global.data(), range.local.data(), 0, nullptr, event);
  if (status != CL_SUCCESS) fail(site, status, "enqueueing (" + range.describe() + ")");
}

}  // namespace pq::rt::opencl
