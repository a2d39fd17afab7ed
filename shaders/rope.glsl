// Rotary embeddings' arithmetic, shared by rope and rope_kv_write (shaders/attention.comp) and
// the linear shaders' rope_kv_write epilogue (shaders/linear_gemv.comp), so that each gives the
// same bits; the mirror of cl/common_rope.cl. Needs common.glsl (DT_*, round_bits_to_dtype).
#ifndef PORTAQUANT_ROPE_GLSL
#define PORTAQUANT_ROPE_GLSL

// sin and cos with an absolute error below 8e-8 for |a| < 2^17 * pi/2: exact four-part quadrant
// reduction, then Cephes' polynomials on |r| <= pi/4 (GLSL's sin/cos only promise 2^-11 inside
// [-pi, pi]); the same routine as cl/common_rope.cl.
vec2 accurate_sincos(float a) {
  const float k = roundEven(a * 0.63661977236758134);
  float r = a - k * 1.5625;
  r = r - k * 0.0081787109375;
  r = r - k * 0.00011730194091796875;
  r = r - k * 3.1391647326017846e-07;
  const float z = r * r;
  const float s = r + r * z * ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1);
  const float c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  const int q = int(k) & 3;  // two's complement: also right for negative k
  const float sin_a = q == 0 ? s : q == 1 ? c : q == 2 ? -s : -c;
  const float cos_a = q == 0 ? c : q == 1 ? -s : q == 2 ? -c : s;
  return vec2(sin_a, cos_a);
}

// The pair (a, b) = (x[t], x[t + half]) rotated by sc = (sin, cos) of its angle (HF's
// rotate_half): (out[t], out[t + half]).
vec2 rope_rotate_sc(float a, float b, vec2 sc, uint dtype, float neg_wrap) {
  const float minus_b = neg_wrap != 0.0 && b == neg_wrap ? b : -b;
  if (dtype == DT_F32) return vec2(a * sc.y + minus_b * sc.x, b * sc.y + a * sc.x);
  // float16/bfloat16 as transformers: cos/sin cast to the dtype, each product rounded to it.
  const float c = uintBitsToFloat(round_bits_to_dtype(floatBitsToUint(sc.y), dtype));
  const float s = uintBitsToFloat(round_bits_to_dtype(floatBitsToUint(sc.x), dtype));
  precise float ac = a * c, bs = minus_b * s, bc = b * c, as_ = a * s;
  const float p1 = uintBitsToFloat(round_bits_to_dtype(floatBitsToUint(ac), dtype));
  const float p2 = uintBitsToFloat(round_bits_to_dtype(floatBitsToUint(bs), dtype));
  const float p3 = uintBitsToFloat(round_bits_to_dtype(floatBitsToUint(bc), dtype));
  const float p4 = uintBitsToFloat(round_bits_to_dtype(floatBitsToUint(as_), dtype));
  return vec2(p1 + p2, p3 + p4);
}

// The angle: the float32 rounding of pos * inv_freq is part of the op (no fused multiply-add).
float rope_angle(int position, float inv) {
  precise float angle = float(position) * inv;
  return angle;
}

vec2 rope_rotate(float a, float b, float angle, uint dtype, float neg_wrap) {
  return rope_rotate_sc(a, b, accurate_sincos(angle), dtype, neg_wrap);
}
#endif
