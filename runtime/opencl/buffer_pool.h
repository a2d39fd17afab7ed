// Device memory of one OpenCL device. Freed buffers are kept on a free list keyed by their
// capacity (the request rounded up to a power of two, 256 bytes at least) and handed out again,
// because creating buffers is slow on some drivers and a model's tensors come in few sizes.
#pragma once

#include <CL/cl.h>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/backend.h"
#include "runtime/opencl/opencl_context.h"

namespace pq::rt::opencl {

class BufferPool;

class OpenCLBuffer final : public DeviceBuffer {
 public:
  OpenCLBuffer(std::shared_ptr<BufferPool> pool, cl_mem memory, size_t size, size_t capacity);
  ~OpenCLBuffer() override;  // returns the memory to the pool
  OpenCLBuffer(const OpenCLBuffer&) = delete;
  OpenCLBuffer& operator=(const OpenCLBuffer&) = delete;

  size_t size() const override { return size_; }
  cl_mem memory() const { return memory_; }
  const BufferPool& pool() const { return *pool_; }

 private:
  std::shared_ptr<BufferPool> pool_;  // keeps the pool, and so the context, alive
  cl_mem memory_;
  size_t size_;
  size_t capacity_;
};

// A window of an OpenCLBuffer (Backend::view): a sub-buffer, so a kernel argument covers the
// window only. Keeps its parent alive.
class OpenCLSubBuffer final : public DeviceBuffer {
 public:
  OpenCLSubBuffer(std::shared_ptr<DeviceBuffer> parent, const OpenCLBuffer& allocation, size_t origin, size_t size,
                  cl_mem memory)
      : parent_(std::move(parent)), allocation_(allocation), origin_(origin), size_(size), memory_(memory) {}
  ~OpenCLSubBuffer() override { clReleaseMemObject(memory_); }
  OpenCLSubBuffer(const OpenCLSubBuffer&) = delete;
  OpenCLSubBuffer& operator=(const OpenCLSubBuffer&) = delete;

  size_t size() const override { return size_; }
  cl_mem memory() const { return memory_; }
  const OpenCLBuffer& allocation() const { return allocation_; }
  size_t origin() const { return origin_; }  // in the allocation

 private:
  std::shared_ptr<DeviceBuffer> parent_;
  const OpenCLBuffer& allocation_;
  size_t origin_;
  size_t size_;
  cl_mem memory_;
};

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  explicit BufferPool(std::shared_ptr<const OpenCLContext> device);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Throws naming the device when `bytes` exceeds the device's largest buffer or memory runs out.
  std::shared_ptr<OpenCLBuffer> allocate(size_t bytes);
  void give_back(cl_mem memory, size_t capacity) noexcept;
  // Releases every free buffer to the driver.
  void trim() noexcept;

  // The capacity a request is served with: a power of two of 256 bytes or more, or the request
  // itself when rounding up would pass the device's largest allocation.
  static size_t capacity_for(size_t bytes, uint64_t max_buffer_bytes);

 private:
  cl_mem take_free(size_t capacity);
  cl_mem create(size_t capacity);

  std::shared_ptr<const OpenCLContext> device_;
  std::mutex mutex_;  // buffers may be dropped on any thread
  std::map<size_t, std::vector<cl_mem>> free_;
};

}  // namespace pq::rt::opencl
