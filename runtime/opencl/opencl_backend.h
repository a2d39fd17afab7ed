// What the OpenCL backend offers beyond the Backend interface. Free of OpenCL types, and usable
// whether or not the backend is compiled in (without it, the functions are inert stubs), so
// runtime/ops can call opencl_sgemm unconditionally.
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

// Process-wide counts of device buffers: created with clCreateBuffer, and served from a pool.
struct OpenCLBufferStats {
  int64_t buffers_created = 0;
  int64_t buffers_reused = 0;
};

#ifdef PORTAQUANT_HAVE_OPENCL

OpenCLProgramStats opencl_program_stats();
OpenCLBufferStats opencl_buffer_stats();

// C = A · op(B) in float32, row-major, with CLBlast: A is m×k (row stride lda), B is k×n
// (stride ldb) or, with transpose_b, n×k; C is m×n (stride ldc). Offsets and strides count
// floats. Enqueued on the backend's queue like a kernel, or captured when called inside
// Backend::record. Returns false, doing nothing, when `backend` is not an OpenCL backend.
bool opencl_sgemm(Backend& backend, bool transpose_b, size_t m, size_t n, size_t k, const DeviceBuffer& a,
                  size_t a_offset_elems, size_t lda, const DeviceBuffer& b, size_t b_offset, size_t ldb, DeviceBuffer& c,
                  size_t c_offset, size_t ldc);

#else  // built without OpenCL: nothing was built or allocated, and no backend is an OpenCL one

inline OpenCLProgramStats opencl_program_stats() { return {}; }
inline OpenCLBufferStats opencl_buffer_stats() { return {}; }
inline bool opencl_sgemm(Backend&, bool, size_t, size_t, size_t, const DeviceBuffer&, size_t, size_t,
                         const DeviceBuffer&, size_t, size_t, DeviceBuffer&, size_t, size_t) {
  return false;
}

#endif

}  // namespace pq::rt
