// Setting a kernel's arguments from a KernelLaunch and enqueueing it: shared by eager launches
// and recorded plans, so both fail with the same message naming device, kernel and sizes.
#pragma once

#include <CL/cl.h>

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "runtime/kernel_launch.h"

namespace pq::rt::opencl {

struct NDRange {
  std::array<size_t, 3> global{1, 1, 1};
  std::array<size_t, 3> local{1, 1, 1};

  bool empty() const { return global[0] == 0 || global[1] == 0 || global[2] == 0; }
  std::string describe() const;  // "global 1024x1x1, local 256x1x1"
};

// Where a kernel call is made, for error messages.
struct KernelSite {
  const std::string& device;
  const std::string& kernel;
};

// global = groups × local. Throws std::invalid_argument for a zero workgroup size; zero groups
// is an empty range, which enqueue_kernel skips.
NDRange nd_range_of(const KernelSite& site, const KernelLaunch& launch);

// Arguments 0..n-1 are the buffers; the params block, when not empty, is argument n, by value.
// Throws when the kernel takes a different number of arguments.
void set_kernel_arguments(const KernelSite& site, cl_kernel kernel, cl_uint argument_count,
                          const std::vector<cl_mem>& buffers, std::span<const std::byte> params);

// `event`, when given, receives the launch's event (left null for an empty range).
void enqueue_kernel(const KernelSite& site, cl_command_queue queue, cl_kernel kernel, const NDRange& range,
                    cl_event* event = nullptr);

}  // namespace pq::rt::opencl
