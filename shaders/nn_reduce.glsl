// Workgroup reductions for the nn shaders (norm.comp, attention.comp), without subgroups.
// Define REDUCE_LOCAL_MAX (a power of two >= the workgroup size) before including.
#ifndef PORTAQUANT_NN_REDUCE_GLSL
#define PORTAQUANT_NN_REDUCE_GLSL

shared float reduce_scratch[REDUCE_LOCAL_MAX];

// Sum (is_max false) or max of v over a power-of-two workgroup, by a tree in shared memory;
// every invocation gets the result. The trailing barrier lets the caller reduce again at once.
// Call from uniform control flow only.
float workgroup_reduce(float v, bool is_max) {
  const uint lid = gl_LocalInvocationID.x;
  reduce_scratch[lid] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1) {
    if (lid < s) {
      const float a = reduce_scratch[lid], b = reduce_scratch[lid + s];
      reduce_scratch[lid] = is_max ? max(a, b) : a + b;
    }
    barrier();
  }
  const float r = reduce_scratch[0];
  barrier();
  return r;
}

#endif
