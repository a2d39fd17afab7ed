// Rotary embeddings' arithmetic, shared by rope and rope_kv_write (cl/attention.cl) and the
// linear kernels' rope_kv_write epilogue (cl/linear_gemv.cl), so that each gives the same bits.

// sin and cos of a float32 angle with an absolute error below 8e-8 for |a| < 2^17 * pi/2
// (positions of 128k-token contexts; measured over 2e7 angles against double, with and without
// fused multiply-adds). The quadrant reduction a = k * pi/2 + r subtracts pi/2 in four parts,
// the first three short enough (<= 7 significant bits) that k * part is exact for k < 2^17;
// then Cephes' minimax polynomials on |r| <= pi/4. GLSL's sin/cos promise only 2^-11 inside
// [-pi, pi] and nothing outside, so both backends use this routine and agree.
inline float2 accurate_sincos(float a) {
  const float k = rint(a * 0.63661977236758134f);
  float r = a - k * 1.5625f;
  r = r - k * 0.0081787109375f;
  r = r - k * 0.00011730194091796875f;
  r = r - k * 3.1391647326017846e-07f;
  const float z = r * r;
  const float s = r + r * z * ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f);
  const float c = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z - 0.5f * z + 1.0f;
  const int q = ((int)k) & 3;  // two's complement: also right for negative k
  const float sin_a = q == 0 ? s : q == 1 ? c : q == 2 ? -s : -c;
  const float cos_a = q == 0 ? c : q == 1 ? -s : q == 2 ? -c : s;
  return (float2)(sin_a, cos_a);
}

// The angle is the float32 product pos * inv_freq, rounded, as on the host: fusing it into the
// range reduction's first multiply-add would skip that rounding (0.004 rad at angle 1e5).
inline float rope_angle(int position, float inv) {
#pragma OPENCL FP_CONTRACT OFF
  return (float)position * inv;
}

// float32 (a, b) = (x[t], x[t + half]) rotated by sc = (sin, cos) as HF's rotate_half does:
// (out[t], out[t + half]); minus_b is -b (quanto's int8 q/k may keep it unnegated, see rope).
inline float2 rope_rotated_f32(float a, float minus_b, float b, float2 sc) {
  return (float2)(a * sc.y + minus_b * sc.x, b * sc.y + a * sc.x);
}
