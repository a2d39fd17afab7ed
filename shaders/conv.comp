#version 450
// conv2d and 2-D pooling on NCHW float32/float16/bfloat16; the mirror of cl/conv.cl (same
// bindings, parameters and tiling). 16-bit outputs are stored with STORE_FLOAT: neighbouring
// elements belong to other invocations.
//! variant conv2d -DCONV2D
//! variant pool2d -DPOOL2D
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

#ifdef CONV2D
// Register-blocked direct convolution: a CONV_OB x CONV_PB tile (output channels of one group x
// neighbouring output columns of one row) per invocation; see cl/conv.cl.
#define CONV_OB 4
#define CONV_PB 8
layout(std430, binding = 0) readonly buffer X { uint x[]; };
// float words or halves, or int8 codes four to a word (no 8/16-bit storage feature needed)
layout(std430, binding = 1) readonly buffer W { uint weight[]; };
layout(std430, binding = 2) readonly buffer S { float scale[]; };
layout(std430, binding = 3) readonly buffer B { uint bias[]; };
layout(std430, binding = 4) buffer Out { uint result[]; };
layout(push_constant) uniform Params {
  uint n, c, h, w, o, oh, ow, kh, kw;
  uint stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
  uint has_bias, weight_format, per_channel_scale;
  uint o_blocks, ow_blocks, tiles;
  uint dtype, weight_dtype, bias_dtype;
} p;

float conv_weight(uint i) {
  if (p.weight_format == 0u) return LOAD_FLOAT(weight, i, p.weight_dtype);
  return float(int(weight[i >> 2] << (24u - 8u * (i & 3u))) >> 24);
}

void main() {
  const uint id = flat_id();
  if (id >= p.tiles) return;
  const uint ox0 = (id % p.ow_blocks) * CONV_PB;
  const uint oy = (id / p.ow_blocks) % p.oh;
  const uint tile = id / (p.ow_blocks * p.oh);
  const uint n = tile / (p.groups * p.o_blocks);
  const uint g = (tile / p.o_blocks) % p.groups;
  const uint og = p.o / p.groups, cg = p.c / p.groups;
  const uint o0 = g * og + (tile % p.o_blocks) * CONV_OB;
  const uint o_last = g * og + og - 1u;
  const int y0 = int(oy * p.stride_h) - int(p.pad_h);
  int xs[CONV_PB];
  for (uint j = 0u; j < CONV_PB; ++j) xs[j] = int(min(ox0 + j, p.ow - 1u) * p.stride_w) - int(p.pad_w);
  uint wrow[CONV_OB];
  for (uint r = 0u; r < CONV_OB; ++r) wrow[r] = min(o0 + r, o_last) * cg * p.kh * p.kw;
  float acc[CONV_OB][CONV_PB];
  for (uint r = 0u; r < CONV_OB; ++r)
    for (uint j = 0u; j < CONV_PB; ++j) acc[r][j] = 0.0;
  for (uint ci = 0u; ci < cg; ++ci) {
    const uint plane = (n * p.c + g * cg + ci) * p.h * p.w;
    for (uint ky = 0u; ky < p.kh; ++ky) {
      const int iy = y0 + int(ky * p.dilation_h);
      if (iy < 0 || iy >= int(p.h)) continue;
      const uint row = plane + uint(iy) * p.w;
      const uint tap0 = (ci * p.kh + ky) * p.kw;
      for (uint kx = 0u; kx < p.kw; ++kx) {
        float xv[CONV_PB], wv[CONV_OB];
        for (uint j = 0u; j < CONV_PB; ++j) {
          const int ix = xs[j] + int(kx * p.dilation_w);
          xv[j] = ix >= 0 && ix < int(p.w) ? LOAD_FLOAT(x, row + uint(ix), p.dtype) : 0.0;  // zero padding
        }
        for (uint r = 0u; r < CONV_OB; ++r) wv[r] = conv_weight(wrow[r] + tap0 + kx);
        for (uint r = 0u; r < CONV_OB; ++r)
          for (uint j = 0u; j < CONV_PB; ++j) acc[r][j] += wv[r] * xv[j];
      }
    }
  }
  for (uint r = 0u; r < CONV_OB; ++r) {
    const uint o = o0 + r;
    if (o > o_last) break;
    const float s = p.weight_format == 1u ? scale[p.per_channel_scale != 0u ? o : 0u] : 1.0;
    const float b = p.has_bias != 0u ? LOAD_FLOAT(bias, o, p.bias_dtype) : 0.0;
    const uint dst = ((n * p.o + o) * p.oh + oy) * p.ow;
    for (uint j = 0u; j < CONV_PB; ++j) {
      if (ox0 + j < p.ow) STORE_FLOAT(result, dst + ox0 + j, p.dtype, acc[r][j] * s + b);
    }
  }
}
#endif

#ifdef POOL2D
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer Out { uint result[]; };
layout(push_constant) uniform Params {
  uint planes, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  uint mode, count_include_pad, dtype;
} p;

void main() {
  const uint id = flat_id();
  if (id >= p.planes * p.oh * p.ow) return;
  const uint ox = id % p.ow;
  const uint oy = (id / p.ow) % p.oh;
  const uint plane = (id / (p.ow * p.oh)) * p.h * p.w;
  const int y0 = int(oy * p.stride_h) - int(p.pad_h);
  const int x0 = int(ox * p.stride_w) - int(p.pad_w);
  float acc = p.mode == 0u ? uintBitsToFloat(0xff800000u) : 0.0;  // -inf for max
  int inside = 0;
  for (uint ky = 0u; ky < p.kh; ++ky) {
    const int iy = y0 + int(ky * p.dilation_h);
    if (iy < 0 || iy >= int(p.h)) continue;
    for (uint kx = 0u; kx < p.kw; ++kx) {
      const int ix = x0 + int(kx * p.dilation_w);
      if (ix < 0 || ix >= int(p.w)) continue;
      const float v = LOAD_FLOAT(x, plane + uint(iy) * p.w + uint(ix), p.dtype);
      acc = p.mode == 0u ? ((v > acc || is_nan(v)) ? v : acc) : acc + v;  // torch's max propagates NaN
      ++inside;
    }
  }
  if (p.mode == 1u) {
    const int padded = (min(y0 + int(p.kh), int(p.h + p.pad_h)) - y0) * (min(x0 + int(p.kw), int(p.w + p.pad_w)) - x0);
    acc /= float(p.count_include_pad != 0u ? padded : inside);
  }
  STORE_FLOAT(result, id, p.dtype, acc);
}
#endif
