#include "runtime/opencl/recorded_plan.h"

#include <chrono>

#include "runtime/launch_profile.h"
#include "runtime/opencl/cl_error.h"

namespace pq::rt::opencl {
namespace {

double event_seconds(const std::string& device, cl_event event) {
  cl_ulong start = 0, end = 0;
  cl_int status = clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr);
  if (status == CL_SUCCESS) status = clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof end, &end, nullptr);
  if (status != CL_SUCCESS) throw_cl_error(status, device, "reading a launch's profiling times");
  return static_cast<double>(end - start) * 1e-9;
}

}  // namespace

OpenCLRecordedPlan::OpenCLRecordedPlan(std::shared_ptr<const OpenCLContext> device, std::vector<RecordedStep> steps)
    : device_(std::move(device)), steps_(std::move(steps)) {}

void OpenCLRecordedPlan::replay() {
  if (launch_profiling()) return timed_replay();
  enqueue_steps(nullptr);
}

void OpenCLRecordedPlan::enqueue_steps(std::vector<LaunchEvent>* events) const {
  const cl_command_queue queue = device_->queue.get();
  for (const RecordedStep& step : steps_) {
    if (const auto* kernel = std::get_if<RecordedKernel>(&step)) {
      cl_event event = nullptr;
      enqueue_kernel({device_->device_name(), kernel->name}, queue, kernel->kernel.get(), kernel->range,
                     events ? &event : nullptr);
      if (events) events->emplace_back(&kernel->name, EventHandle(event));
    } else {
      std::get<RecordedCall>(step).enqueue(queue);
    }
  }
}

// Each kernel with an event, the queue drained at the end (it was drained before, so the wall
// time is this replay's alone); library calls run untimed.
void OpenCLRecordedPlan::timed_replay() {
  const cl_command_queue queue = device_->queue.get();
  const std::string& device = device_->device_name();
  cl_int status = clFinish(queue);
  if (status != CL_SUCCESS) throw_cl_error(status, device, "waiting for the queue");
  const auto start = std::chrono::steady_clock::now();
  std::vector<LaunchEvent> events;
  enqueue_steps(&events);
  status = clFinish(queue);
  if (status != CL_SUCCESS) throw_cl_error(status, device, "waiting for the queue");
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double on_device = 0;
  for (const auto& [name, event] : events) {
    if (!event.get()) continue;  // an empty range ran nothing
    const double seconds = event_seconds(device, event.get());
    record_plan_launch_time(device_->info.id(), *name, seconds);
    on_device += seconds;
  }
  record_plan_replay(device_->info.id(), steps_.size(), wall, on_device);
}

}  // namespace pq::rt::opencl
