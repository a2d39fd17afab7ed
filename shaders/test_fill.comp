// The Vulkan backend's own test kernels (tests/test_vulkan_backend.cpp), not an op.
//   test_fill: binding 0 = uint out[]; out[i] = value + i for i < n.
//   test_add:  binding 0 = uint in[], binding 1 = uint out[]; out[i] = in[i] + value for i < n.
//! variant test_fill
//! variant test_add -DTEST_ADD
#version 450

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

layout(push_constant) uniform Params {
  uint n;
  uint value;
} params;

#ifdef TEST_ADD
layout(std430, set = 0, binding = 0) readonly buffer Input { uint in_values[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Output { uint out_values[]; };
#else
layout(std430, set = 0, binding = 0) writeonly buffer Output { uint out_values[]; };
#endif

void main() {
  // Rows of the grid continue the x range, so that n above 65535 workgroups still fits.
  const uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  if (i >= params.n) return;
#ifdef TEST_ADD
  out_values[i] = in_values[i] + params.value;
#else
  out_values[i] = params.value + i;
#endif
}
