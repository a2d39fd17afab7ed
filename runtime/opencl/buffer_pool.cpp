#include "runtime/opencl/buffer_pool.h"

#include <atomic>
#include <bit>
#include <stdexcept>

#include "runtime/opencl/cl_error.h"
#include "runtime/opencl/opencl_backend.h"

namespace pq::rt {
namespace {
std::atomic<int64_t> g_buffers_created{0};
std::atomic<int64_t> g_buffers_reused{0};
}  // namespace

OpenCLBufferStats opencl_buffer_stats() { return {g_buffers_created.load(), g_buffers_reused.load()}; }

}  // namespace pq::rt

namespace pq::rt::opencl {
namespace {
constexpr size_t kSmallestCapacity = 256;

bool is_out_of_memory(cl_int status) {
  return status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES || status == CL_OUT_OF_HOST_MEMORY;
}
}  // namespace

OpenCLBuffer::OpenCLBuffer(std::shared_ptr<BufferPool> pool, cl_mem memory, size_t size, size_t capacity)
    : pool_(std::move(pool)), memory_(memory), size_(size), capacity_(capacity) {}

OpenCLBuffer::~OpenCLBuffer() { pool_->give_back(memory_, capacity_); }

BufferPool::BufferPool(std::shared_ptr<const OpenCLContext> device) : device_(std::move(device)) {}

BufferPool::~BufferPool() { trim(); }

size_t BufferPool::capacity_for(size_t bytes, uint64_t max_buffer_bytes) {
  const size_t rounded = std::bit_ceil(std::max(bytes, kSmallestCapacity));
  return rounded <= max_buffer_bytes ? rounded : bytes;
}

cl_mem BufferPool::take_free(size_t capacity) {
  std::lock_guard lock(mutex_);
  auto it = free_.find(capacity);
  if (it == free_.end() || it->second.empty()) return nullptr;
  cl_mem memory = it->second.back();
  it->second.pop_back();
  return memory;
}

cl_mem BufferPool::create(size_t capacity) {
  cl_int status = CL_SUCCESS;
  cl_mem memory = clCreateBuffer(device_->context.get(), CL_MEM_READ_WRITE, capacity, nullptr, &status);
  if (is_out_of_memory(status)) {
    // Memory parked on the free list is the first thing to give back before failing.
    trim();
    memory = clCreateBuffer(device_->context.get(), CL_MEM_READ_WRITE, capacity, nullptr, &status);
  }
  if (status != CL_SUCCESS) {
    throw_cl_error(status, device_->device_name(), "allocating a buffer of " + std::to_string(capacity) + " bytes");
  }
  ++g_buffers_created;
  return memory;
}

std::shared_ptr<OpenCLBuffer> BufferPool::allocate(size_t bytes) {
  const uint64_t largest = device_->info.max_buffer_bytes;
  if (largest != 0 && bytes > largest) {
    throw std::runtime_error("opencl: allocating " + std::to_string(bytes) + " bytes on " + device_->device_name() +
                             ": larger than its largest buffer (" + std::to_string(largest) + " bytes)");
  }
  const size_t capacity = capacity_for(bytes, largest == 0 ? UINT64_MAX : largest);
  cl_mem memory = take_free(capacity);
  if (memory) {
    ++g_buffers_reused;
  } else {
    memory = create(capacity);
  }
  try {
    return std::make_shared<OpenCLBuffer>(shared_from_this(), memory, bytes, capacity);
  } catch (...) {
    give_back(memory, capacity);
    throw;
  }
}

void BufferPool::give_back(cl_mem memory, size_t capacity) noexcept {
  try {
    std::lock_guard lock(mutex_);
    free_[capacity].push_back(memory);
  } catch (...) {
    clReleaseMemObject(memory);  // no room on the free list: let the driver have it
  }
}

void BufferPool::trim() noexcept {
  std::lock_guard lock(mutex_);
  for (auto& [capacity, memories] : free_) {
    for (cl_mem memory : memories) clReleaseMemObject(memory);
  }
  free_.clear();
}

}  // namespace pq::rt::opencl
