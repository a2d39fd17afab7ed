// Owning handles for OpenCL objects: each releases its object exactly once, so an exception
// thrown half-way through setting something up leaks nothing.
#pragma once

#include <CL/cl.h>

#include <utility>

namespace pq::rt::opencl {

template <class Object, cl_int (*Release)(Object)>
class ClHandle {
 public:
  ClHandle() = default;
  explicit ClHandle(Object object) : object_(object) {}
  ~ClHandle() { reset(); }
  ClHandle(ClHandle&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  ClHandle& operator=(ClHandle&& other) noexcept {
    if (this != &other) {
      reset();
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  ClHandle(const ClHandle&) = delete;
  ClHandle& operator=(const ClHandle&) = delete;

  Object get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }
  void reset() {
    if (object_) Release(object_);
    object_ = nullptr;
  }

 private:
  Object object_ = nullptr;
};

using ContextHandle = ClHandle<cl_context, clReleaseContext>;
using QueueHandle = ClHandle<cl_command_queue, clReleaseCommandQueue>;
using ProgramHandle = ClHandle<cl_program, clReleaseProgram>;
using KernelHandle = ClHandle<cl_kernel, clReleaseKernel>;
using MemHandle = ClHandle<cl_mem, clReleaseMemObject>;

}  // namespace pq::rt::opencl
