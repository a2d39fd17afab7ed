// A recorded plan on OpenCL: the launches captured while Backend::record's body ran, each with
// a kernel object of its own whose arguments were set once, plus calls into libraries (CLBlast)
// that are simply made again. Replay only enqueues (under PORTAQUANT_PROFILE it also times each
// launch on the device and waits for the end).
#pragma once

#include <CL/cl.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/backend.h"
#include "runtime/opencl/cl_handle.h"
#include "runtime/opencl/kernel_dispatch.h"
#include "runtime/opencl/opencl_context.h"

namespace pq::rt::opencl {

struct RecordedKernel {
  std::string name;
  KernelHandle kernel;  // arguments already set
  NDRange range;
};

struct RecordedCall {
  std::function<void(cl_command_queue)> enqueue;  // throws, naming what it does, on failure
};

using RecordedStep = std::variant<RecordedKernel, RecordedCall>;

class OpenCLRecordedPlan final : public RecordedPlan {
 public:
  OpenCLRecordedPlan(std::shared_ptr<const OpenCLContext> device, std::vector<RecordedStep> steps);
  void replay() override;
  size_t launch_count() const override { return steps_.size(); }

 private:
  using EventHandle = ClHandle<cl_event, clReleaseEvent>;
  using LaunchEvent = std::pair<const std::string*, EventHandle>;  // a kernel's name and its event

  // Enqueues every step; with `events`, each kernel's event (null for an empty range) is kept.
  void enqueue_steps(std::vector<LaunchEvent>* events) const;
  void timed_replay();  // PORTAQUANT_PROFILE

  std::shared_ptr<const OpenCLContext> device_;  // keeps the queue alive as long as the plan
  std::vector<RecordedStep> steps_;
};

}  // namespace pq::rt::opencl
