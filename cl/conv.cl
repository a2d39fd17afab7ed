// conv2d and 2-D pooling on NCHW float32/float16/bfloat16, computed in float32, the output in
// x's dtype (runtime/ops/nn_conv.cpp).
//
// conv2d is a direct convolution, register-blocked: each work-item computes a CONV_OB x CONV_PB
// tile (CONV_OB output channels of one group, times CONV_PB neighbouring output columns of one
// row), so each tap costs CONV_OB weight loads and CONV_PB input loads for CONV_OB * CONV_PB
// multiply-adds. Tiles at the channel / column edges compute clamped duplicates that are never
// stored (no branch in the inner loop). Pooling is one work-item per output element.

#define CONV_OB 4
#define CONV_PB 8

typedef struct {
  uint n, c, h, w, o, oh, ow, kh, kw;
  uint stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
  uint has_bias;
  uint weight_format;      // 0: float32 weights; 1: int8 codes (4 per word) times a scale per output channel
  uint per_channel_scale;  // 1: scale[o]; 0: one scale for the tensor
  uint o_blocks;           // ceil((o / groups) / CONV_OB): channel tiles per group
  uint ow_blocks;          // ceil(ow / CONV_PB): column tiles per output row
  uint tiles;              // n * groups * o_blocks * oh * ow_blocks
  uint dtype;              // of x and the output (DT_*)
  uint weight_dtype;       // of float weights
  uint bias_dtype;
} conv2d_params;

// Weight element i: a float (of weight_dtype), or an int8 code.
inline float conv_weight(__global const uchar* w, uint i, const conv2d_params* p) {
  if (p->weight_format == 0) return load_float(w, i, p->weight_dtype);
  return (float)((__global const char*)w)[i];
}

// The weights are read as bytes so that one kernel serves every format; a code's scale is
// applied once to the sum (sum(x * q) * s), not per tap.
__kernel void conv2d(__global const uchar* x, __global const uchar* weight, __global const float* scale,
                     __global const uchar* bias, __global uchar* out, const conv2d_params p) {
  const uint id = flat_id();
  if (id >= p.tiles) return;
  const uint ox0 = (id % p.ow_blocks) * CONV_PB;
  const uint oy = (id / p.ow_blocks) % p.oh;
  const uint tile = id / (p.ow_blocks * p.oh);  // (n, group, channel tile)
  const uint n = tile / (p.groups * p.o_blocks);
  const uint g = (tile / p.o_blocks) % p.groups;
  const uint og = p.o / p.groups, cg = p.c / p.groups;
  const uint o0 = g * og + (tile % p.o_blocks) * CONV_OB;
  const uint o_last = g * og + og - 1;
  const int y0 = (int)(oy * p.stride_h) - (int)p.pad_h;
  int xs[CONV_PB];  // first input column of each output column (clamped past the row end)
  for (uint j = 0; j < CONV_PB; ++j) xs[j] = (int)(min(ox0 + j, p.ow - 1) * p.stride_w) - (int)p.pad_w;
  uint wrow[CONV_OB];  // first weight of each output channel (clamped past the group end)
  for (uint r = 0; r < CONV_OB; ++r) wrow[r] = min(o0 + r, o_last) * cg * p.kh * p.kw;
  float acc[CONV_OB][CONV_PB];
  for (uint r = 0; r < CONV_OB; ++r)
    for (uint j = 0; j < CONV_PB; ++j) acc[r][j] = 0.0f;
  for (uint ci = 0; ci < cg; ++ci) {
    const uint plane = (n * p.c + g * cg + ci) * p.h * p.w;
    for (uint ky = 0; ky < p.kh; ++ky) {
      const int iy = y0 + (int)(ky * p.dilation_h);
      if (iy < 0 || iy >= (int)p.h) continue;
      const uint row = plane + (uint)iy * p.w;
      const uint tap0 = (ci * p.kh + ky) * p.kw;
      for (uint kx = 0; kx < p.kw; ++kx) {
        float xv[CONV_PB], wv[CONV_OB];
        for (uint j = 0; j < CONV_PB; ++j) {
          const int ix = xs[j] + (int)(kx * p.dilation_w);
          xv[j] = ix >= 0 && ix < (int)p.w ? load_float(x, row + (uint)ix, p.dtype) : 0.0f;  // zero padding
        }
        for (uint r = 0; r < CONV_OB; ++r) wv[r] = conv_weight(weight, wrow[r] + tap0 + kx, &p);
        for (uint r = 0; r < CONV_OB; ++r)
          for (uint j = 0; j < CONV_PB; ++j) acc[r][j] += wv[r] * xv[j];
      }
    }
  }
  for (uint r = 0; r < CONV_OB; ++r) {
    const uint o = o0 + r;
    if (o > o_last) break;
    const float s = p.weight_format == 1 ? scale[p.per_channel_scale ? o : 0] : 1.0f;
    const float b = p.has_bias ? load_float(bias, o, p.bias_dtype) : 0.0f;
    const uint dst = ((n * p.o + o) * p.oh + oy) * p.ow;
    for (uint j = 0; j < CONV_PB; ++j) {
      if (ox0 + j < p.ow) store_float(out, dst + ox0 + j, p.dtype, acc[r][j] * s + b);
    }
  }
}

typedef struct {
  uint planes, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  uint mode;               // 0 max, 1 average
  uint count_include_pad;  // average: divide by the window clipped to the padded input, else by the taps inside
  uint dtype;              // of x and the output
} pool2d_params;

__kernel void pool2d(__global const uchar* x, __global uchar* out, const pool2d_params p) {
  const uint id = flat_id();
  if (id >= p.planes * p.oh * p.ow) return;
  const uint ox = id % p.ow;
  const uint oy = (id / p.ow) % p.oh;
  const uint plane = (id / (p.ow * p.oh)) * p.h * p.w;
  const int y0 = (int)(oy * p.stride_h) - (int)p.pad_h;
  const int x0 = (int)(ox * p.stride_w) - (int)p.pad_w;
  float acc = p.mode == 0 ? -INFINITY : 0.0f;
  int inside = 0;
  for (uint ky = 0; ky < p.kh; ++ky) {
    const int iy = y0 + (int)(ky * p.dilation_h);
    if (iy < 0 || iy >= (int)p.h) continue;
    for (uint kx = 0; kx < p.kw; ++kx) {
      const int ix = x0 + (int)(kx * p.dilation_w);
      if (ix < 0 || ix >= (int)p.w) continue;
      const float v = load_float(x, plane + (uint)iy * p.w + (uint)ix, p.dtype);
      // torch's max propagates NaN.
      acc = p.mode == 0 ? ((v > acc || isnan(v)) ? v : acc) : acc + v;
      ++inside;
    }
  }
  if (p.mode == 1) {
    const int padded = (min(y0 + (int)p.kh, (int)(p.h + p.pad_h)) - y0) * (min(x0 + (int)p.kw, (int)(p.w + p.pad_w)) - x0);
    acc /= (float)(p.count_include_pad ? padded : inside);
  }
  store_float(out, id, p.dtype, acc);
}
