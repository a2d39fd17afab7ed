// Helpers prepended to every program of cl/ (files named common*.cl are headers).
// The baseline is OpenCL C 1.2 with fp32 arithmetic: 16-bit floats are read and written with
// vload_half/vstore_half (core, no cl_khr_fp16 needed), bfloat16 by bit shifts.

// The flat index of a 1-D grid laid out as rows of get_global_size(0) items (grids past
// 65535 groups wrap into dimension 1, as Vulkan caps a dimension at 65535 groups).
inline uint flat_id(void) { return (uint)(get_global_id(1) * get_global_size(0) + get_global_id(0)); }

inline float load_bf16(__global const ushort* p, uint i) { return as_float(((uint)p[i]) << 16); }

// ---- nn family helpers (runtime/ops/nn_*.cpp) -------------------------------------------
// The flat index of a workgroup in a grid of one workgroup per row, wrapped into dimension 1
// past 65535 groups (nn::grid_rows).
inline uint flat_group_id(void) { return (uint)(get_group_id(1) * get_num_groups(0) + get_group_id(0)); }

// Sum (is_max == 0) or max of v over a 1-D workgroup whose size is a power of two, by a tree in
// `scratch` (one float per work-item; no subgroups). Every work-item gets the result; the
// trailing barrier lets the caller reuse `scratch`. Call from uniform control flow only.
inline float workgroup_reduce(__local float* scratch, float v, int is_max) {
  const uint lid = get_local_id(0);
  scratch[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = get_local_size(0) / 2; s > 0; s >>= 1) {
    if (lid < s) scratch[lid] = is_max ? fmax(scratch[lid], scratch[lid + s]) : scratch[lid] + scratch[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float r = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}

// ---- Narrow floats and exact division (quantize family) ----------------------------------
// Everything below works on float32 bit patterns with integer operations, so no rounding
// mode, contraction or denormal flush can change a result: the conversions match
// host/float_format.cpp and the division matches IEEE float32 division bit for bit.
// The mirror of the same section of shaders/common.glsl.

// Narrow float formats, numbered as host FloatFormat.
#define FMT_F16 0u
#define FMT_BF16 1u
#define FMT_E4M3FN 2u
#define FMT_E4M3FNUZ 3u
#define FMT_E5M2 4u

#define OVERFLOW_INF 0u
#define OVERFLOW_NAN 1u
#define OVERFLOW_SATURATE 2u

typedef struct {
  int mantissa_bits;
  int bias;
  uint max_code;    // magnitude code of the largest finite value
  uint overflow;
  uint nan_code;    // magnitude code written for NaN
  bool signed_nan;  // NaN keeps the sign
  bool negative_zero;
  bool ieee;        // all-ones exponent means inf/NaN
  uint inf_code;
  uint bits;        // 8 or 16
} NarrowFormat;

// The same table as host/float_format.cpp.
inline NarrowFormat narrow_format(uint fmt) {
  const NarrowFormat f16 = {10, 15, 0x7BFFu, OVERFLOW_INF, 0x7E00u, true, true, true, 0x7C00u, 16u};
  const NarrowFormat bf16 = {7, 127, 0x7F7Fu, OVERFLOW_INF, 0x7FC0u, false, true, true, 0x7F80u, 16u};
  const NarrowFormat e4m3fn = {3, 7, 0x7Eu, OVERFLOW_SATURATE, 0x7Fu, true, true, false, 0u, 8u};
  const NarrowFormat e4m3fnuz = {3, 8, 0x7Fu, OVERFLOW_NAN, 0x80u, false, false, false, 0u, 8u};
  const NarrowFormat e5m2 = {2, 15, 0x7Bu, OVERFLOW_INF, 0x7Fu, true, true, true, 0x7Cu, 8u};
  if (fmt == FMT_F16) return f16;
  if (fmt == FMT_BF16) return bf16;
  if (fmt == FMT_E4M3FN) return e4m3fn;
  if (fmt == FMT_E4M3FNUZ) return e4m3fnuz;
  return e5m2;
}

// value >> shift rounded to nearest even, for value < 2^24.
inline uint shift_right_rne(uint value, int shift) {
  if (shift <= 0) return value;
  if (shift >= 25) return 0u;  // value is below half a quantum
  const uint q = value >> shift;
  const uint rem = value & ((1u << shift) - 1u);
  const uint half_q = 1u << (shift - 1);
  return q + ((rem > half_q || (rem == half_q && (q & 1u) != 0u)) ? 1u : 0u);
}

// Magnitude code of a finite non-negative float32 (bits); may exceed the largest finite code.
inline uint narrow_magnitude(uint bits, NarrowFormat f) {
  const int biased = (int)(bits >> 23);
  const uint mantissa = (bits & 0x7FFFFFu) | (biased != 0 ? 0x800000u : 0u);
  if (mantissa == 0u) return 0u;
  const int e = biased != 0 ? biased - 127 : -126;
  const int min_e = 1 - f.bias;
  const uint q = shift_right_rne(mantissa, 23 - f.mantissa_bits + max(min_e - e, 0));
  if (e < min_e) return q;
  // q carries the implicit bit, so a rounding carry lands on the next binade by itself.
  return ((uint)(e + f.bias - 1) << f.mantissa_bits) + q;
}

// float32 bits -> f16/bf16/float8 code, round to nearest even.
inline uint f32_bits_to_narrow(uint bits, uint fmt) {
  const NarrowFormat f = narrow_format(fmt);
  const uint sign = (bits >> 31) << (f.bits - 1u);
  const uint abs_bits = bits & 0x7FFFFFFFu;
  const uint nan = f.signed_nan ? (sign | f.nan_code) : f.nan_code;
  if (abs_bits > 0x7F800000u) return nan;
  uint magnitude = abs_bits == 0x7F800000u ? f.max_code + 1u : narrow_magnitude(abs_bits, f);
  if (magnitude > f.max_code) {
    if (f.overflow == OVERFLOW_NAN) return nan;
    magnitude = f.overflow == OVERFLOW_SATURATE ? f.max_code : f.inf_code;
  }
  if (magnitude == 0u && !f.negative_zero) return 0u;
  return sign | magnitude;
}

// f16/bf16/float8 code -> float32 bits (exact).
inline uint narrow_to_f32_bits(uint code, uint fmt) {
  if (fmt == FMT_BF16) return code << 16;
  const NarrowFormat f = narrow_format(fmt);
  const uint sign_bit = 1u << (f.bits - 1u);
  const uint magnitude = code & (sign_bit - 1u);
  const uint sign = (code & sign_bit) != 0u ? 0x80000000u : 0u;
  if (!f.negative_zero && code == sign_bit) return 0x7FC00000u;
  const int field = (int)(magnitude >> f.mantissa_bits);
  const int field_max = (1 << ((int)f.bits - 1 - f.mantissa_bits)) - 1;
  const uint mantissa = magnitude & ((1u << f.mantissa_bits) - 1u);
  if (f.ieee && field == field_max) return sign | (mantissa != 0u ? 0x7FC00000u : 0x7F800000u);
  if (!f.ieee && magnitude > f.max_code) return sign | 0x7FC00000u;
  if (magnitude == 0u) return sign;
  if (field == 0) {  // subnormal in the narrow format, normal in float32
    const int p = 31 - (int)clz(mantissa);
    const int e = p + 1 - f.bias - f.mantissa_bits;
    return sign | ((uint)(e + 127) << 23) | ((mantissa << (23 - p)) & 0x7FFFFFu);
  }
  return sign | ((uint)(field - f.bias + 127) << 23) | (mantissa << (23 - f.mantissa_bits));
}

// Float element dtypes of kernels, numbered as host DType: 0 float32, 1 float16, 2 bfloat16.
#define DT_F32 0u
#define DT_F16 1u
#define DT_BF16 2u

// float16 and bfloat16 <-> float32 bits for activations: the same results as the general
// routines above (host/float_format.cpp: round to nearest even, overflow -> inf, float16
// subnormals kept, NaN -> the host's NaN code), in a few integer operations, since they sit in
// every load and store of a 16-bit tensor.
inline uint f16_to_f32_bits(uint h) {
  const uint sign = (h & 0x8000u) << 16;
  const uint e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0x1Fu) return sign | (m != 0u ? 0x7FC00000u : 0x7F800000u);
  if (e != 0u) return sign | ((e + 112u) << 23) | (m << 13);
  if (m == 0u) return sign;
  const int top = 31 - (int)clz(m);  // subnormal m * 2^-24
  return sign | ((uint)(top + 103) << 23) | ((m << (uint)(23 - top)) & 0x7FFFFFu);
}

inline uint f32_bits_to_f16(uint bits) {
  const uint sign = (bits >> 16) & 0x8000u;
  const uint a = bits & 0x7FFFFFFFu;
  if (a > 0x7F800000u) return sign | 0x7E00u;
  if (a >= 0x477FF000u) return sign | 0x7C00u;  // from 65520 (the tie above 65504) on: inf
  if (a >= 0x38800000u) {                        // normal: rebias, round 13 bits away (a carry is right)
    const uint r = a - 0x38000000u;
    return sign | ((r + 0xFFFu + ((r >> 13) & 1u)) >> 13);
  }
  if (a <= 0x33000000u) return sign;  // at most 2^-25, half the smallest subnormal: ±0
  const uint m = (a & 0x7FFFFFu) | 0x800000u;
  const uint shift = 126u - (a >> 23);  // 14..24: m * 2^(e - 150) in units of 2^-24
  const uint q = m >> shift, rem = m & ((1u << shift) - 1u), half_q = 1u << (shift - 1u);
  return sign | (q + ((rem > half_q || (rem == half_q && (q & 1u) != 0u)) ? 1u : 0u));
}

inline uint f32_bits_to_bf16(uint bits) {
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0u;
  return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;  // overflow rounds into inf by itself
}

// float32 bits -> the 16-bit code of an f16/bf16 element (round to nearest even).
inline uint narrow_float_bits(uint bits, uint dtype) { return dtype == DT_F16 ? f32_bits_to_f16(bits) : f32_bits_to_bf16(bits); }

// Element i of a float32/f16/bf16 tensor, as float32 bits.
inline uint load_float_bits(__global const uchar* data, uint i, uint dtype) {
  if (dtype == DT_F32) return ((__global const uint*)data)[i];
  const uint raw = ((__global const ushort*)data)[i];
  return dtype == DT_F16 ? f16_to_f32_bits(raw) : raw << 16;
}

// Element i of a float32/f16/bf16 tensor as a float, and a float stored into one with round to
// nearest even (NaN stays NaN, overflow gives inf): activations "in the model's dtype" are
// loaded, computed in float32 and rounded once on the way out, as torch's CPU kernels do.
inline float load_float(__global const uchar* data, uint i, uint dtype) { return as_float(load_float_bits(data, i, dtype)); }

inline void store_float(__global uchar* data, uint i, uint dtype, float v) {
  if (dtype == DT_F32) {
    ((__global float*)data)[i] = v;
  } else {
    ((__global ushort*)data)[i] = (ushort)narrow_float_bits(as_uint(v), dtype);
  }
}

// Kernels with one work-item per 32-bit word of a float32/f16/bf16 output (the elementwise
// ops, gathers) compute elements [word_first_element, word_end_element) of word w.
inline uint word_first_element(uint w, uint dtype) { return dtype == DT_F32 ? w : 2u * w; }
inline uint word_end_element(uint w, uint dtype, uint n) { return min(n, dtype == DT_F32 ? w + 1u : 2u * w + 2u); }

// The value float32 bits stand for after a cast to `dtype` and back (the rounding step of
// arithmetic "in the weight's dtype", host round_to_dtype).
inline uint round_bits_to_dtype(uint bits, uint dtype) {
  if (dtype == DT_F32) return bits;
  const uint code = narrow_float_bits(bits, dtype);
  return dtype == DT_F16 ? f16_to_f32_bits(code) : code << 16;
}

// silu as the elementwise ops and linear_q4_swiglu compute it (one formula: the same bits).
inline float silu(float v) { return v / (1.0f + exp(-v)); }

// Significand of a finite non-zero magnitude as an integer in [2^23, 2^24), and its exponent.
inline uint unpack_significand(uint abs_bits, int* e) {
  const uint biased = abs_bits >> 23;
  const uint m = abs_bits & 0x7FFFFFu;
  if (biased != 0u) {
    *e = (int)biased - 127;
    return m | 0x800000u;
  }
  const int p = 31 - (int)clz(m);
  *e = -126 - (23 - p);
  return m << (23 - p);
}

// The correctly rounded float32 quotient a / b (bits in, bits out), as IEEE division on the
// host. OpenCL C single-precision division may be 2.5 ulp off: its estimate of the
// significand ratio is corrected with an exact integer remainder, then rounded to nearest
// even (subnormals included).
inline uint div_rn_bits(uint a, uint b) {
  const uint sign = (a ^ b) & 0x80000000u;
  const uint abs_a = a & 0x7FFFFFFFu, abs_b = b & 0x7FFFFFFFu;
  if (abs_a > 0x7F800000u || abs_b > 0x7F800000u) return 0x7FC00000u;
  if (abs_a == 0x7F800000u) return abs_b == 0x7F800000u ? 0x7FC00000u : sign | 0x7F800000u;
  if (abs_b == 0x7F800000u) return sign;
  if (abs_b == 0u) return abs_a == 0u ? 0x7FC00000u : sign | 0x7F800000u;
  if (abs_a == 0u) return sign;
  int ea, eb;
  const uint xa = unpack_significand(abs_a, &ea);
  const uint xb = unpack_significand(abs_b, &eb);
  // T = xa * 2^n / xb lies in [2^23, 2^24); the quotient is T * 2^(e - 23).
  const int n = xa >= xb ? 23 : 24;
  int e = ea - eb + 23 - n;
  uint t = (uint)(((float)xa / (float)xb) * (float)(1u << n));
  // The remainder xa*2^n - t*xb is small (|.| < 2^31 while t is within 2^7 of T), so its low
  // 32 bits, which wrapping arithmetic gives exactly, are the whole of it.
  int rem = as_int((xa << n) - t * xb);
  for (int k = 0; k < 16 && rem < 0; ++k) {
    t -= 1u;
    rem += (int)xb;
  }
  for (int k = 0; k < 16 && rem >= (int)xb; ++k) {
    t += 1u;
    rem -= (int)xb;
  }
  if (e >= -126) {
    const bool up = 2 * rem > (int)xb || (2 * rem == (int)xb && (t & 1u) != 0u);
    uint m = t + (up ? 1u : 0u);
    if (m == 0x1000000u) {
      m = 0x800000u;
      e += 1;
    }
    if (e > 127) return sign | 0x7F800000u;
    return sign | ((uint)(e + 127) << 23) | (m & 0x7FFFFFu);
  }
  // Subnormal result: T / 2^k in units of 2^-149.
  const int k = -126 - e;
  if (k >= 25) return sign;  // below half the smallest subnormal
  const uint q = t >> k;
  const uint dropped = t & ((1u << k) - 1u);
  const uint half_q = 1u << (k - 1);
  const bool up = dropped > half_q || (dropped == half_q && (rem != 0 || (q & 1u) != 0u));
  return sign | (q + (up ? 1u : 0u));
}
