#include "runtime/opencl/program_cache.h"

#include "runtime/opencl/cl_error.h"
#include "runtime/opencl/program_build.h"

namespace pq::rt::opencl {

ProgramCache::ProgramCache(std::shared_ptr<const OpenCLContext> device, std::string build_options,
                           const KernelSources& sources)
    : device_(std::move(device)), build_options_(std::move(build_options)), sources_(sources) {}

cl_program ProgramCache::program_defining(const std::string& kernel) {
  const std::string& file = sources_.file_defining(kernel);
  auto it = programs_.find(file);
  if (it == programs_.end()) {
    ProgramHandle program = build_program(*device_, file, sources_.program_source(file), build_options_);
    it = programs_.emplace(file, std::move(program)).first;
  }
  return it->second.get();
}

CachedKernel ProgramCache::new_kernel(const std::string& name) {
  const cl_program program = program_defining(name);
  cl_int status = CL_SUCCESS;
  CachedKernel created{KernelHandle(clCreateKernel(program, name.c_str(), &status))};
  if (status != CL_SUCCESS) throw_cl_error(status, device_->device_name(), "creating kernel '" + name + "'");
  status = clGetKernelInfo(created.kernel.get(), CL_KERNEL_NUM_ARGS, sizeof created.argument_count,
                           &created.argument_count, nullptr);
  if (status != CL_SUCCESS) throw_cl_error(status, device_->device_name(), "querying kernel '" + name + "'");
  return created;
}

const CachedKernel& ProgramCache::shared_kernel(const std::string& name) {
  auto it = kernels_.find(name);
  if (it == kernels_.end()) it = kernels_.emplace(name, new_kernel(name)).first;
  return it->second;
}

}  // namespace pq::rt::opencl
