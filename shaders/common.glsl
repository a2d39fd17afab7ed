// Helpers included by every shader of shaders/. The baseline needs no optional feature:
// 8- and 16-bit data are read through 32-bit words (no 8/16-bit storage), arithmetic is fp32.
#ifndef PORTAQUANT_COMMON_GLSL
#define PORTAQUANT_COMMON_GLSL

// The workgroup size comes from the launch (KernelLaunch::local) as specialization constants.
layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

// The flat index of a 1-D grid that wraps into dimension y past 65535 groups.
uint flat_id() { return gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * gl_WorkGroupSize.x) + gl_GlobalInvocationID.x; }

// erf is not a GLSL built-in: Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
float erf_approx(float x) {
  const float t = 1.0 / (1.0 + 0.3275911 * abs(x));
  const float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-x * x));
}

#endif
