// OpenCL status codes as names, and the one way this backend turns a failed call into an
// exception: "opencl: <what> on <device>: CL_<NAME> (<code>)".
#pragma once

#include <CL/cl.h>

#include <string>
#include <string_view>

namespace pq::rt::opencl {

// "CL_OUT_OF_RESOURCES"; codes this header does not know read "unknown OpenCL error".
std::string_view cl_error_name(cl_int status);

// "CL_INVALID_KERNEL_ARGS (-52)"
std::string describe_cl_status(cl_int status);

[[noreturn]] void throw_cl_error(cl_int status, std::string_view device, std::string_view what);

}  // namespace pq::rt::opencl
