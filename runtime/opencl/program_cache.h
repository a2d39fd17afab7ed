// The programs and kernels of one device, built on first use: a launch names a kernel, the
// kernel index says which cl/*.cl file defines it, and that file is built once per device and
// build options. Used by one thread at a time, like the backend that owns it.
#pragma once

#include <CL/cl.h>

#include <map>
#include <memory>
#include <string>

#include "runtime/opencl/cl_handle.h"
#include "runtime/opencl/kernel_sources.h"
#include "runtime/opencl/opencl_context.h"

namespace pq::rt::opencl {

struct CachedKernel {
  KernelHandle kernel;
  cl_uint argument_count = 0;
};

class ProgramCache {
 public:
  ProgramCache(std::shared_ptr<const OpenCLContext> device, std::string build_options,
               const KernelSources& sources = KernelSources::embedded());

  // The kernel object shared by eager launches: its arguments are set anew before each
  // enqueue, which OpenCL allows because an enqueue captures the arguments it was given.
  const CachedKernel& shared_kernel(const std::string& name);
  // A kernel object of the caller's own, for a recorded launch whose arguments stay set.
  CachedKernel new_kernel(const std::string& name);

 private:
  cl_program program_defining(const std::string& kernel);

  std::shared_ptr<const OpenCLContext> device_;
  std::string build_options_;
  const KernelSources& sources_;
  std::map<std::string, ProgramHandle> programs_;  // by file
  std::map<std::string, CachedKernel> kernels_;    // by kernel name
};

}  // namespace pq::rt::opencl
