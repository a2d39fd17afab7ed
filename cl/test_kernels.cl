// The OpenCL backend's own test kernels (tests/test_opencl_backend.cpp): small enough to build
// quickly on pocl, and independent of the op kernels so the backend can be tested on its own.

typedef struct {
  uint n;
  uint value;
} test_fill_params;

// out[i] = value + i for i < n; the "+ i" shows that every work-item wrote its own element.
__kernel void test_fill(__global uint* out, const test_fill_params p) {
  const uint i = get_global_id(0);
  if (i < p.n) out[i] = p.value + i;
}

typedef struct {
  uint n;
} test_increment_params;

// data[i] += 1: replaying a plan twice must add 2, which a fill cannot show.
__kernel void test_increment(__global uint* data, const test_increment_params p) {
  const uint i = get_global_id(0);
  if (i < p.n) data[i] += 1u;
}
