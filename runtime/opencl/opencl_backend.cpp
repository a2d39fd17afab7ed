#include "runtime/opencl/opencl_backend.h"

#include <chrono>
#include <stdexcept>

#include "runtime/api_backends.h"
#include "runtime/launch_profile.h"
#include "runtime/opencl/cl_error.h"
#include "runtime/opencl/kernel_dispatch.h"
#include "runtime/opencl/opencl_backend_impl.h"

namespace pq::rt::opencl {

OpenCLBackend::OpenCLBackend(std::shared_ptr<const OpenCLContext> device)
    : device_(std::move(device)), pool_(std::make_shared<BufferPool>(device_)), programs_(device_, kBuildOptions) {}

std::shared_ptr<DeviceBuffer> OpenCLBackend::allocate(size_t bytes) { return pool_->allocate(bytes); }

const OpenCLBuffer& OpenCLBackend::own_buffer(const DeviceBuffer& buffer, const char* role) const {
  const auto* ours = dynamic_cast<const OpenCLBuffer*>(&buffer);
  if (!ours || &ours->pool() != pool_.get()) {
    throw std::invalid_argument(std::string("opencl: ") + role + " is not a buffer of " + device_name());
  }
  return *ours;
}

const OpenCLBuffer& OpenCLBackend::parent_of(const DeviceBuffer& buffer, const char* role, size_t& origin) const {
  if (const auto* sub = dynamic_cast<const OpenCLSubBuffer*>(&buffer)) {
    origin = sub->origin();
    return own_buffer(sub->allocation(), role);
  }
  origin = 0;
  return own_buffer(buffer, role);
}

cl_mem OpenCLBackend::memory_of(const DeviceBuffer& buffer, const char* role) const {
  if (const auto* sub = dynamic_cast<const OpenCLSubBuffer*>(&buffer)) {
    own_buffer(sub->allocation(), role);
    return sub->memory();
  }
  return own_buffer(buffer, role).memory();
}

std::shared_ptr<DeviceBuffer> OpenCLBackend::view(const std::shared_ptr<DeviceBuffer>& buffer, size_t offset, size_t bytes) {
  if (!buffer) throw std::invalid_argument("opencl: a view of a null buffer on " + device_name());
  check_view(info(), *buffer, offset, bytes);
  size_t origin = 0;
  const OpenCLBuffer& allocation = parent_of(*buffer, "a view's buffer", origin);
  const cl_buffer_region region{origin + offset, std::max<size_t>(bytes, 1)};  // OpenCL refuses empty regions
  cl_int status = CL_SUCCESS;
  const cl_mem memory = clCreateSubBuffer(allocation.memory(), CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &status);
  if (status != CL_SUCCESS) {
    throw_cl_error(status, device_name(), "creating a view of " + std::to_string(bytes) + " bytes at offset " +
                                              std::to_string(region.origin));
  }
  return std::make_shared<OpenCLSubBuffer>(buffer, allocation, region.origin, bytes, memory);
}

void OpenCLBackend::check_range(const DeviceBuffer& buffer, size_t offset, size_t bytes, const char* what) const {
  if (offset > buffer.size() || bytes > buffer.size() - offset) {
    throw std::out_of_range("opencl: " + std::string(what) + " of " + std::to_string(bytes) + " bytes at offset " +
                            std::to_string(offset) + " on " + device_name() + " passes the end of a buffer of " +
                            std::to_string(buffer.size()) + " bytes");
  }
}

void OpenCLBackend::upload(DeviceBuffer& buffer, std::span<const std::byte> bytes, size_t offset) {
  const cl_mem memory = memory_of(buffer, "upload target");
  check_range(buffer, offset, bytes.size(), "upload");
  if (bytes.empty()) return;
  const cl_int status = clEnqueueWriteBuffer(device_->queue.get(), memory, CL_TRUE, offset, bytes.size(), bytes.data(),
                                             0, nullptr, nullptr);
  if (status != CL_SUCCESS) throw_cl_error(status, device_name(), "uploading " + std::to_string(bytes.size()) + " bytes");
}

void OpenCLBackend::download(const DeviceBuffer& buffer, std::span<std::byte> bytes, size_t offset) {
  const cl_mem memory = memory_of(buffer, "download source");
  check_range(buffer, offset, bytes.size(), "download");
  if (bytes.empty()) return;
  // Blocking, on the in-order queue: the read waits for every kernel enqueued before it.
  const cl_int status = clEnqueueReadBuffer(device_->queue.get(), memory, CL_TRUE, offset, bytes.size(), bytes.data(),
                                            0, nullptr, nullptr);
  if (status != CL_SUCCESS) {
    throw_cl_error(status, device_name(), "downloading " + std::to_string(bytes.size()) + " bytes");
  }
}

void OpenCLBackend::launch(const KernelLaunch& launch) {
  std::vector<cl_mem> buffers;
  buffers.reserve(launch.buffers.size());
  for (const DeviceBuffer* buffer : launch.buffers) {
    if (!buffer) throw std::invalid_argument("opencl: kernel '" + launch.kernel + "' was given a null buffer");
    buffers.push_back(memory_of(*buffer, "a kernel argument"));
  }
  if (recording_) {
    record_launch(launch, std::move(buffers));
    return;
  }
  const KernelSite site{device_name(), launch.kernel};
  const NDRange range = nd_range_of(site, launch);
  const CachedKernel& kernel = programs_.shared_kernel(launch.kernel);
  set_kernel_arguments(site, kernel.kernel.get(), kernel.argument_count, buffers, launch.params);
  if (!launch_profiling()) return enqueue_kernel(site, device_->queue.get(), kernel.kernel.get(), range);
  synchronize();
  const auto start = std::chrono::steady_clock::now();
  enqueue_kernel(site, device_->queue.get(), kernel.kernel.get(), range);
  synchronize();
  record_launch_time(device_->info.id(), launch.kernel, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void OpenCLBackend::record_launch(const KernelLaunch& launch, std::vector<cl_mem> buffers) {
  const KernelSite site{device_name(), launch.kernel};
  const NDRange range = nd_range_of(site, launch);
  CachedKernel kernel = programs_.new_kernel(launch.kernel);
  set_kernel_arguments(site, kernel.kernel.get(), kernel.argument_count, buffers, launch.params);
  recording_->push_back(RecordedKernel{launch.kernel, std::move(kernel.kernel), range});
}

void OpenCLBackend::enqueue_or_record(std::function<void(cl_command_queue)> enqueue) {
  if (recording_) {
    recording_->push_back(RecordedCall{std::move(enqueue)});
  } else {
    enqueue(device_->queue.get());
  }
}

void OpenCLBackend::synchronize() {
  const cl_int status = clFinish(device_->queue.get());
  if (status != CL_SUCCESS) throw_cl_error(status, device_name(), "waiting for the queue");
}

std::unique_ptr<RecordedPlan> OpenCLBackend::record(const std::function<void()>& body) {
  if (recording_) throw std::logic_error("opencl: record() called while already recording on " + device_name());
  std::vector<RecordedStep> steps;
  recording_ = &steps;
  // Recording stops however the body ends, so a throwing body leaves the backend usable.
  struct StopRecording {
    std::vector<RecordedStep>*& recording;
    ~StopRecording() { recording = nullptr; }
  } stop{recording_};
  body();
  return std::make_unique<OpenCLRecordedPlan>(device_, std::move(steps));
}

}  // namespace pq::rt::opencl

namespace pq::rt {

std::shared_ptr<Backend> open_opencl_device(int index, const std::optional<KernelTiers>& tiers) {
  auto context = opencl::OpenCLContext::open(index);
  if (tiers) name_tiers(context->info, *tiers);
  return std::make_shared<opencl::OpenCLBackend>(std::move(context));
}

}  // namespace pq::rt
