// Turning one cl/*.cl file into a built program for one device: from the on-disk binary cache
// when it holds this exact source for this device and driver, else from source (then stored).
#pragma once

#include <string>

#include "runtime/opencl/cl_handle.h"
#include "runtime/opencl/opencl_context.h"

namespace pq::rt::opencl {

// Throws std::runtime_error naming the device and file, with the build log, when the source
// does not build.
ProgramHandle build_program(const OpenCLContext& device, const std::string& file, const std::string& source,
                            const std::string& options);

}  // namespace pq::rt::opencl
