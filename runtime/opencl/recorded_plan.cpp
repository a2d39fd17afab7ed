#include "runtime/opencl/recorded_plan.h"

namespace pq::rt::opencl {

OpenCLRecordedPlan::OpenCLRecordedPlan(std::shared_ptr<const OpenCLContext> device, std::vector<RecordedStep> steps)
    : device_(std::move(device)), steps_(std::move(steps)) {}

void OpenCLRecordedPlan::replay() {
  const cl_command_queue queue = device_->queue.get();
  for (const RecordedStep& step : steps_) {
    if (const auto* kernel = std::get_if<RecordedKernel>(&step)) {
      enqueue_kernel({device_->device_name(), kernel->name}, queue, kernel->kernel.get(), kernel->range);
    } else {
      std::get<RecordedCall>(step).enqueue(queue);
    }
  }
}

}  // namespace pq::rt::opencl
