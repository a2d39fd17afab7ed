// What the OpenCL backend offers beyond the Backend interface. Free of OpenCL types, so that
// runtime/ops and the tests can include it whether or not the backend is compiled in.
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/backend.h"

namespace pq::rt {

// Process-wide counts of program builds: from the on-disk binary cache, and from source.
struct OpenCLProgramStats {
  int cache_hits = 0;
  int source_builds = 0;
};
OpenCLProgramStats opencl_program_stats();

// Process-wide counts of device buffers: created with clCreateBuffer, and served from a pool.
struct OpenCLBufferStats {
  int64_t buffers_created = 0;
  int64_t buffers_reused = 0;
};
OpenCLBufferStats opencl_buffer_stats();

// C = A · op(B) in float32, row-major, with CLBlast: A is m×k (row stride lda), B is k×n
// (stride ldb) or, with transpose_b, n×k; C is m×n (stride ldc). Offsets and strides count
// floats. Enqueued on the backend's queue like a kernel, or captured when called inside
// Backend::record. Returns false, doing nothing, when `backend` is not an OpenCL backend.
bool opencl_sgemm(Backend& backend, bool transpose_b, size_t m, size_t n, size_t k, const DeviceBuffer& a,
                  size_t a_offset_elems, size_t lda, const DeviceBuffer& b, size_t b_offset, size_t ldb, DeviceBuffer& c,
                  size_t c_offset, size_t ldc);

}  // namespace pq::rt
