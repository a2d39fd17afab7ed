// Float GEMM through CLBlast, enqueued on the backend's own queue so that it orders with our
// kernels. CLBlast compiles and caches its kernels itself (slow the first time on pocl).
#include <clblast.h>

#include <stdexcept>

#include "runtime/opencl/cl_error.h"
#include "runtime/opencl/opencl_backend.h"
#include "runtime/opencl/opencl_backend_impl.h"

namespace pq::rt {
namespace {

// CLBlast returns OpenCL codes as they are, and its own codes below -1000.
std::string describe_clblast_status(clblast::StatusCode status) {
  const int code = static_cast<int>(status);
  if (code > -1000) return opencl::describe_cl_status(code);
  switch (status) {
    case clblast::StatusCode::kNotImplemented: return "kNotImplemented (-1024)";
    case clblast::StatusCode::kInvalidDimension: return "kInvalidDimension (-1017)";
    case clblast::StatusCode::kInvalidLeadDimA: return "kInvalidLeadDimA (-1016)";
    case clblast::StatusCode::kInvalidLeadDimB: return "kInvalidLeadDimB (-1015)";
    case clblast::StatusCode::kInvalidLeadDimC: return "kInvalidLeadDimC (-1014)";
    case clblast::StatusCode::kInsufficientMemoryA: return "kInsufficientMemoryA (-1011): A is too small";
    case clblast::StatusCode::kInsufficientMemoryB: return "kInsufficientMemoryB (-1010): B is too small";
    case clblast::StatusCode::kInsufficientMemoryC: return "kInsufficientMemoryC (-1009): C is too small";
    case clblast::StatusCode::kInvalidLocalMemUsage: return "kInvalidLocalMemUsage (-2046)";
    case clblast::StatusCode::kDatabaseError: return "kDatabaseError (-2041)";
    default: return "CLBlast status " + std::to_string(code);
  }
}

struct GemmCall {
  bool transpose_b;
  size_t m, n, k;
  cl_mem a, b, c;
  size_t a_offset, lda, b_offset, ldb, c_offset, ldc;
};

std::string label_of(const GemmCall& g) {
  return "clblast sgemm m=" + std::to_string(g.m) + " n=" + std::to_string(g.n) + " k=" + std::to_string(g.k) +
         (g.transpose_b ? " (B transposed)" : "");
}

// With k == 0 the product is all zeros, which CLBlast refuses to compute (kInvalidDimension).
void zero_rows(const GemmCall& g, cl_command_queue queue, const std::string& device) {
  const float zero = 0.0f;
  for (size_t row = 0; row < g.m; ++row) {
    const cl_int status = clEnqueueFillBuffer(queue, g.c, &zero, sizeof zero, (g.c_offset + row * g.ldc) * sizeof(float),
                                              g.n * sizeof(float), 0, nullptr, nullptr);
    if (status != CL_SUCCESS) opencl::throw_cl_error(status, device, label_of(g) + ": clearing C");
  }
}

void run_gemm(const GemmCall& g, cl_command_queue queue, const std::string& device) {
  if (g.k == 0) return zero_rows(g, queue, device);
  cl_command_queue q = queue;
  const auto status = clblast::Gemm<float>(
      clblast::Layout::kRowMajor, clblast::Transpose::kNo, g.transpose_b ? clblast::Transpose::kYes : clblast::Transpose::kNo,
      g.m, g.n, g.k, 1.0f, g.a, g.a_offset, g.lda, g.b, g.b_offset, g.ldb, 0.0f, g.c, g.c_offset, g.ldc, &q, nullptr);
  if (status != clblast::StatusCode::kSuccess) {
    throw std::runtime_error("opencl: " + label_of(g) + " on " + device + " failed: " + describe_clblast_status(status));
  }
}

}  // namespace

bool opencl_sgemm(Backend& backend, bool transpose_b, size_t m, size_t n, size_t k, const DeviceBuffer& a,
                  size_t a_offset_elems, size_t lda, const DeviceBuffer& b, size_t b_offset, size_t ldb, DeviceBuffer& c,
                  size_t c_offset, size_t ldc) {
  auto* opencl = dynamic_cast<opencl::OpenCLBackend*>(&backend);
  if (!opencl) return false;
  if (m == 0 || n == 0) return true;  // C is empty
  const GemmCall call{transpose_b, m, n, k,
                      opencl->memory_of(a, "sgemm A"), opencl->memory_of(b, "sgemm B"), opencl->memory_of(c, "sgemm C"),
                      a_offset_elems, lda, b_offset, ldb, c_offset, ldc};
  opencl->enqueue_or_record([call, device = opencl->device_name()](cl_command_queue queue) {
    run_gemm(call, queue, device);
  });
  return true;
}

}  // namespace pq::rt
