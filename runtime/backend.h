// The interface every device backend implements: memory, kernel launches, synchronisation and
// recorded plans. The CPU reference backend runs ops directly and launches no kernels.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>

#include "runtime/device_info.h"
#include "runtime/kernel_launch.h"

namespace pq::rt {

class DeviceBuffer {
 public:
  virtual ~DeviceBuffer() = default;
  virtual size_t size() const = 0;
};

// Launches captured once and replayed cheaply: a recorded command buffer on Vulkan, a list of
// kernels with their arguments already set on OpenCL.
class RecordedPlan {
 public:
  virtual ~RecordedPlan() = default;
  virtual void replay() = 0;  // enqueues every launch again; call Backend::synchronize() to wait
  virtual size_t launch_count() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const DeviceInfo& info() const = 0;

  // Contents are undefined until uploaded or written by a kernel. Freed memory returns to a pool.
  virtual std::shared_ptr<DeviceBuffer> allocate(size_t bytes) = 0;
  virtual void upload(DeviceBuffer& buffer, std::span<const std::byte> bytes, size_t offset = 0) = 0;
  virtual void download(const DeviceBuffer& buffer, std::span<std::byte> bytes, size_t offset = 0) = 0;

  // Enqueues one kernel; kernels run in order. Throws naming the device and kernel on failure.
  virtual void launch(const KernelLaunch& launch) = 0;
  // Waits for everything enqueued.
  virtual void synchronize() = 0;
  // Launches made by `body` are recorded instead of run; the buffers they name must outlive the plan.
  virtual std::unique_ptr<RecordedPlan> record(const std::function<void()>& body) = 0;

  // `bytes` bytes of `buffer` from `offset`, as a buffer of their own that shares the memory
  // (Vulkan: a descriptor offset and range; OpenCL: a sub-buffer): a kernel binding of a view
  // covers only the view, so a tensor larger than DeviceInfo::max_binding_bytes can be bound a
  // window at a time. `offset` must be a multiple of DeviceInfo::binding_alignment. The view
  // keeps `buffer` alive. Throws std::out_of_range past the end of the buffer.
  virtual std::shared_ptr<DeviceBuffer> view(const std::shared_ptr<DeviceBuffer>& buffer, size_t offset, size_t bytes);
};

// Checks a view request against the buffer's size and the device's alignment (the message names both).
void check_view(const DeviceInfo& device, const DeviceBuffer& buffer, size_t offset, size_t bytes);

}  // namespace pq::rt
