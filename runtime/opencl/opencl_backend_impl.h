// The Backend of one OpenCL device: an in-order queue, a buffer pool, lazily built programs,
// and recording of launches into plans. Used by one thread at a time. While record()'s body
// runs, launches (and CLBlast calls) are captured; uploads and downloads still happen at once.
#pragma once

#include <CL/cl.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/backend.h"
#include "runtime/opencl/buffer_pool.h"
#include "runtime/opencl/opencl_context.h"
#include "runtime/opencl/program_cache.h"
#include "runtime/opencl/recorded_plan.h"

namespace pq::rt::opencl {

inline constexpr const char* kBuildOptions = "-cl-std=CL1.2";

class OpenCLBackend final : public Backend {
 public:
  explicit OpenCLBackend(std::shared_ptr<const OpenCLContext> device);

  const DeviceInfo& info() const override { return device_->info; }
  std::shared_ptr<DeviceBuffer> allocate(size_t bytes) override;
  void upload(DeviceBuffer& buffer, std::span<const std::byte> bytes, size_t offset = 0) override;
  void download(const DeviceBuffer& buffer, std::span<std::byte> bytes, size_t offset = 0) override;
  void launch(const KernelLaunch& launch) override;
  void synchronize() override;
  std::unique_ptr<RecordedPlan> record(const std::function<void()>& body) override;
  std::shared_ptr<DeviceBuffer> view(const std::shared_ptr<DeviceBuffer>& buffer, size_t offset, size_t bytes) override;

  // Runs `enqueue` on the queue now, or keeps it for the plan being recorded. For work done by
  // libraries on our queue (CLBlast), which cannot be captured as a kernel with fixed arguments.
  void enqueue_or_record(std::function<void(cl_command_queue)> enqueue);

  // The memory behind a buffer of this device; throws for a buffer of another device.
  cl_mem memory_of(const DeviceBuffer& buffer, const char* role) const;
  const std::string& device_name() const { return device_->device_name(); }

 private:
  const OpenCLBuffer& own_buffer(const DeviceBuffer& buffer, const char* role) const;
  // A buffer of this device, or a view of one: its parent allocation and the view's origin.
  const OpenCLBuffer& parent_of(const DeviceBuffer& buffer, const char* role, size_t& origin) const;
  void check_range(const DeviceBuffer& buffer, size_t offset, size_t bytes, const char* what) const;
  void record_launch(const KernelLaunch& launch, std::vector<cl_mem> buffers);

  std::shared_ptr<const OpenCLContext> device_;
  std::shared_ptr<BufferPool> pool_;
  ProgramCache programs_;
  std::vector<RecordedStep>* recording_ = nullptr;  // set while record()'s body runs
};

}  // namespace pq::rt::opencl
