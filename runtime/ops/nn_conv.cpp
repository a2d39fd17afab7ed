// conv2d (float weights, or qint8 codes + per-output-channel scale as optimum-quanto stores a
// quantized Conv2d), max_pool2d and avg_pool2d, all NCHW float32/float16/bfloat16 computed in
// float32 with the output in x's dtype, with torch's semantics. Kernels: cl/conv.cl,
// shaders/conv.comp.
//
// What torch (2.x, CPU) gives at the special values, which the references reproduce: conv2d
// makes every output whose window covers a NaN NaN, and one covering an infinity ±inf (NaN where
// products of both signs meet, or where a qint8 code 0 multiplies it); padding taps add nothing.
// max_pool2d propagates NaN (`val > max || isnan(val)`), keeps ±inf and the first of -0/+0 it
// meets; avg_pool2d sums, so inf + -inf in a window is NaN.
#include <cmath>
#include <limits>
#include <optional>

#include "host/quant/quantized_weight.h"
#include "host/quant/symmetric.h"
#include "runtime/ops/nn_ops.h"
#include "runtime/ops/op_helpers.h"

namespace pq::rt {
namespace {

using nn::int_param;
using nn::u32;

constexpr int64_t kMaxDim = int64_t{1} << 24;
constexpr uint32_t kLocal = 64;

// ---- conv2d --------------------------------------------------------------------------------

enum class WeightFormat : uint32_t { Float = 0, QInt8 = 1 };

struct ConvGeometry {
  int64_t n, c, h, w;  // input
  int64_t o, kh, kw;   // weight [o, c / groups, kh, kw]
  int64_t sh, sw, ph, pw, dh, dw, groups;
  int64_t oh, ow;      // output spatial size
  WeightFormat format;
  bool has_bias;
};

// Field order is the kernel's conv2d_params (cl/conv.cl) and push-constant block (shaders/conv.comp).
struct Conv2dParams {
  uint32_t n, c, h, w, o, oh, ow, kh, kw;
  uint32_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
  uint32_t has_bias, weight_format, per_channel_scale;
  uint32_t o_blocks, ow_blocks, tiles;  // the register tiles of the kernel (CONV_OB x CONV_PB outputs each)
  uint32_t dtype, weight_dtype, bias_dtype;  // x and the output; float weights; bias
};

// The kernel's register tile (cl/conv.cl CONV_OB, CONV_PB): output channels x output columns.
constexpr int64_t kConvTileChannels = 4;
constexpr int64_t kConvTileColumns = 8;

// Inputs: float: x, weight[, bias]; qint8: x, codes, scale[, bias].
size_t bias_index(WeightFormat f) { return f == WeightFormat::Float ? 2 : 3; }

int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation) {
  return (in + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
}

void check_conv_weights(const std::string& op, const std::vector<TensorSpec>& in, const ConvGeometry& g) {
  const TensorSpec& w = in[1];
  const bool float_weights = g.format == WeightFormat::Float;
  if (float_weights ? !is_float_dtype(w.dtype) : w.dtype != DType::I8) {
    op_error(op, std::string("weight_format ") + (float_weights ? "0 needs float32/float16/bfloat16" : "1 needs int8") +
                     " weights, got " + describe({w}));
  }
  if (g.groups > g.o || g.o % g.groups != 0 || g.c % g.groups != 0 || w.shape[1] * g.groups != g.c) {
    op_error(op, "groups=" + std::to_string(g.groups) + " does not fit input and weight: " + describe(in));
  }
  if (g.format == WeightFormat::QInt8) {
    const TensorSpec& s = in[2];
    const int64_t count = shape_numel(s.shape);
    if (s.dtype != DType::F32 || (count != g.o && count != 1)) {
      op_error(op, "the qint8 scale must be float32 with one value per output channel (or one): " + describe(in));
    }
  }
  if (g.has_bias) nn::expect_float_shape(op, "bias", in[bias_index(g.format)], {g.o});
}

ConvGeometry conv_geometry(const std::string& op, const std::vector<TensorSpec>& in, const OpParams& p) {
  ConvGeometry g{};
  g.format = static_cast<WeightFormat>(int_param(op, p, "weight_format", 0, 0, 1));
  const size_t required = g.format == WeightFormat::Float ? 2 : 3;
  if (in.size() != required && in.size() != required + 1) {
    op_error(op, "expects " + std::to_string(required) + " inputs (+ optional bias), got " + describe(in));
  }
  g.has_bias = in.size() == required + 1;
  expect_float_dtype(op, "input", in[0]);
  nn::expect_rank(op, "input", in[0], 4);
  nn::expect_rank(op, "weight", in[1], 4);
  g.n = in[0].shape[0], g.c = in[0].shape[1], g.h = in[0].shape[2], g.w = in[0].shape[3];
  g.o = in[1].shape[0], g.kh = in[1].shape[2], g.kw = in[1].shape[3];
  g.sh = int_param(op, p, "stride_h", 1, 1, kMaxDim), g.sw = int_param(op, p, "stride_w", 1, 1, kMaxDim);
  g.ph = int_param(op, p, "pad_h", 0, 0, kMaxDim), g.pw = int_param(op, p, "pad_w", 0, 0, kMaxDim);
  g.dh = int_param(op, p, "dilation_h", 1, 1, kMaxDim), g.dw = int_param(op, p, "dilation_w", 1, 1, kMaxDim);
  g.groups = int_param(op, p, "groups", 1, 1, kMaxDim);
  check_conv_weights(op, in, g);
  g.oh = conv_out_size(g.h, g.kh, g.sh, g.ph, g.dh);
  g.ow = conv_out_size(g.w, g.kw, g.sw, g.pw, g.dw);
  if (g.oh < 1 || g.ow < 1 || g.n < 1 || g.o < 1 || g.kh < 1 || g.kw < 1) {
    op_error(op, "empty output for " + describe(in) + (p.to_string().empty() ? "" : " with " + p.to_string()));
  }
  nn::check_index_range(op, in);
  nn::check_index_range(op, {{DType::F32, {g.n, g.o, g.oh, g.ow}}});
  return g;
}

// The float weight the kernel effectively uses: qint8 codes dequantized as quanto does (s * q in
// the scale's dtype).
std::vector<float> conv_weight_values(const std::vector<Tensor>& in, const ConvGeometry& g) {
  if (g.format == WeightFormat::Float) return in[1].to_float_vector();
  const std::optional<int> axis = in[2].numel() == 1 ? std::nullopt : std::optional<int>(0);
  const Tensor scale = in[2].numel() == 1 ? in[2].reshape({}) : in[2].reshape({g.o, 1, 1, 1});
  return dequantize_symmetric(in[1], scale, axis).to_float_vector();
}

// One output plane (image n, channel o), accumulated in double.
void conv_plane(const ConvGeometry& g, const float* x, const float* w, double bias, int64_t n, int64_t o, float* out) {
  const int64_t cg = g.c / g.groups;
  const int64_t c0 = (o / (g.o / g.groups)) * cg;
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      double acc = bias;
      for (int64_t ci = 0; ci < cg; ++ci) {
        const float* plane = x + ((n * g.c + c0 + ci) * g.h) * g.w;
        const float* taps = w + (o * cg + ci) * g.kh * g.kw;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
          const int64_t iy = oy * g.sh - g.ph + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            const int64_t ix = ox * g.sw - g.pw + kx * g.dw;
            if (ix >= 0 && ix < g.w) acc += static_cast<double>(plane[iy * g.w + ix]) * taps[ky * g.kw + kx];
          }
        }
      }
      out[oy * g.ow + ox] = static_cast<float>(acc);
    }
  }
}

std::vector<Tensor> conv2d_reference(const std::vector<Tensor>& in, const OpParams& p) {
  std::vector<TensorSpec> specs;
  for (const auto& t : in) specs.push_back({t.dtype(), t.shape()});
  const ConvGeometry g = conv_geometry("conv2d", specs, p);
  const std::vector<float> x = in[0].to_float_vector();
  const std::vector<float> w = conv_weight_values(in, g);
  const std::vector<float> bias = g.has_bias ? in[bias_index(g.format)].to_float_vector() : std::vector<float>();
  std::vector<float> out(static_cast<size_t>(g.n * g.o * g.oh * g.ow));
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t o = 0; o < g.o; ++o) {
      const double b = g.has_bias ? bias[static_cast<size_t>(o)] : 0.0;
      conv_plane(g, x.data(), w.data(), b, n, o, out.data() + (n * g.o + o) * g.oh * g.ow);
    }
  }
  return {Tensor::from_floats(in[0].dtype(), {g.n, g.o, g.oh, g.ow}, out)};
}

void conv2d_encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                   const OpParams& p) {
  std::vector<TensorSpec> specs;
  for (const auto& t : in) specs.push_back({t.dtype, t.shape});
  const ConvGeometry g = conv_geometry("conv2d", specs, p);
  const int64_t o_blocks = (g.o / g.groups + kConvTileChannels - 1) / kConvTileChannels;
  const int64_t ow_blocks = (g.ow + kConvTileColumns - 1) / kConvTileColumns;
  const int64_t tiles = g.n * g.groups * o_blocks * g.oh * ow_blocks;
  KernelLaunch launch = grid_1d("conv2d", static_cast<uint64_t>(tiles), kLocal);
  const bool quantized = g.format == WeightFormat::QInt8;
  launch.buffers = {in[0].buffer.get(), in[1].buffer.get(), quantized ? in[2].buffer.get() : in[0].buffer.get(),
                    nn::buffer_or_placeholder(in, g.has_bias ? bias_index(g.format) : in.size()), out[0].buffer.get()};
  launch.set_params(Conv2dParams{u32(g.n), u32(g.c), u32(g.h), u32(g.w), u32(g.o), u32(g.oh), u32(g.ow), u32(g.kh),
                                 u32(g.kw), u32(g.sh), u32(g.sw), u32(g.ph), u32(g.pw), u32(g.dh), u32(g.dw),
                                 u32(g.groups), g.has_bias ? 1u : 0u, static_cast<uint32_t>(g.format),
                                 quantized && in[2].numel() > 1 ? 1u : 0u, u32(o_blocks), u32(ow_blocks), u32(tiles),
                                 float_dtype_code(in[0].dtype), quantized ? 0u : float_dtype_code(in[1].dtype),
                                 g.has_bias ? float_dtype_code(in[bias_index(g.format)].dtype) : 0u});
  ctx.launch(launch);
}

struct ConvCase {
  Shape x, w;
  OpParams params;
  bool bias;
};

// Shapes with 1s, odd primes, groups, depthwise, strides, padding and dilation.
std::vector<ConvCase> conv_shapes() {
  return {
      {{1, 1, 1, 1}, {1, 1, 1, 1}, {}, false},
      {{2, 3, 7, 11}, {5, 3, 3, 3}, {{"pad_h", 1}, {"pad_w", 1}}, true},
      {{1, 4, 13, 9},
       {6, 2, 3, 5},
       {{"groups", 2}, {"stride_h", 2}, {"pad_h", 1}, {"pad_w", 2}, {"dilation_h", 2}},
       true},
      {{1, 6, 11, 11},
       {6, 1, 3, 3},
       {{"groups", 6}, {"stride_h", 2}, {"stride_w", 2}, {"pad_h", 1}, {"pad_w", 1}},
       true},
      {{3, 17, 5, 7}, {31, 17, 1, 1}, {}, false},
      {{1, 16, 31, 29}, {33, 16, 3, 3}, {{"pad_h", 1}, {"pad_w", 1}}, true},
      {{1, 3, 23, 19}, {7, 3, 7, 7}, {{"stride_h", 2}, {"stride_w", 3}, {"pad_h", 3}, {"pad_w", 3}}, false},
  };
}

std::string conv_label(const ConvCase& c, const char* suffix) {
  return "x" + shape_to_string(c.x) + " w" + shape_to_string(c.w) + (c.bias ? " +bias" : "") + suffix;
}

std::vector<OpCase> conv2d_cases() {
  std::vector<OpCase> cases;
  uint32_t seed = 700;
  // x in `dtype`, float weights and bias in `w_dtype` (nullopt: qint8 weights, float32 scale).
  const auto add = [&](const ConvCase& c, DType dtype, std::optional<DType> w_dtype, bool special) {
    std::string label = conv_label(c, "");
    std::vector<Tensor> in{random_tensor(dtype, c.x, seed++)};
    OpParams params = c.params;
    if (w_dtype) {
      in.push_back(random_tensor(*w_dtype, c.w, seed++, -0.5f, 0.5f));
      if (*w_dtype != dtype) label += " w:" + std::string(dtype_name(*w_dtype));
    } else {
      // qint8 weights quantized by the host's quanto-exact quantizer (per output channel; a
      // single output channel is per-tensor, as in quanto).
      const QuantizedWeight q = quantize_weight(random_tensor(DType::F32, c.w, seed++, -0.5f, 0.5f), QType::QInt8);
      in.insert(in.end(), {q.data, q.scale});
      params.set("weight_format", 1);
      label += " qint8";
    }
    if (c.bias) in.push_back(random_tensor(w_dtype.value_or(dtype), {c.w[0]}, seed++));
    if (special) {
      in[0] = with_special_values(in[0], 23, 5);
      label += " special values";
    }
    cases.push_back({dtype_tag(dtype) + label, in, params});
  };
  const std::vector<ConvCase> shapes = conv_shapes();
  for (const ConvCase& c : shapes) add(c, DType::F32, DType::F32, false);
  for (const ConvCase& c : shapes) add(c, DType::F32, std::nullopt, false);
  // Odd widths put 16-bit rows off word boundaries; weights in the model's dtype or float32.
  for (DType dtype : kNarrowFloatDTypes) {
    add(shapes[1], dtype, dtype, false);
    add(shapes[2], dtype, dtype, false);
    add(shapes[3], dtype, std::nullopt, false);
    add(shapes[5], dtype, DType::F32, false);
  }
  // NaN, ±inf and -0 in x next to padding, groups and strides.
  for (DType dtype : float_dtypes()) {
    add(shapes[1], dtype, dtype, true);
    add(shapes[2], dtype, std::nullopt, true);
  }
  return cases;
}

OpDef conv2d_op() {
  OpDef def;
  def.name = "conv2d";
  def.summary =
      "conv2d(x[N,C,H,W], weight[O,C/groups,kh,kw][, bias[O]]): float32/float16/bfloat16 (weight and bias any of "
      "them), output in x's dtype, torch semantics; weight_format=1: inputs x, int8 codes, float32 scale[O,1,1,1] "
      "(quanto's qint8 Conv2d), [bias]; params stride_h/w, pad_h/w, dilation_h/w, groups";
  def.infer = [](const std::vector<TensorSpec>& in, const OpParams& p) {
    const ConvGeometry g = conv_geometry("conv2d", in, p);
    return std::vector<TensorSpec>{{in[0].dtype, {g.n, g.o, g.oh, g.ow}}};
  };
  def.reference = conv2d_reference;
  def.encode = conv2d_encode;
  def.cases = conv2d_cases;
  def.checks = {OutputCheck{}};
  return def;
}

// ---- max_pool2d / avg_pool2d ---------------------------------------------------------------

enum class PoolMode : uint32_t { Max = 0, Avg = 1 };

struct PoolGeometry {
  int64_t planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
  bool count_include_pad;
};

// Field order is the kernel's pool2d_params.
struct Pool2dParams {
  uint32_t planes, h, w, oh, ow, kh, kw, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, mode,
      count_include_pad, dtype;
};

// torch's pooling_output_shape: with ceil_mode the last window must start inside the input or
// its left padding.
int64_t pool_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation, bool ceil_mode) {
  const int64_t span = in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  int64_t out = span / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

PoolGeometry pool_geometry(const std::string& op, PoolMode mode, const std::vector<TensorSpec>& in, const OpParams& p) {
  if (in.size() != 1) op_error(op, "expects 1 input, got " + describe(in));
  expect_float_dtype(op, "input", in[0]);
  nn::expect_rank(op, "input", in[0], 4);
  nn::check_index_range(op, in);
  PoolGeometry g{};
  g.planes = in[0].shape[0] * in[0].shape[1], g.h = in[0].shape[2], g.w = in[0].shape[3];
  g.kh = int_param(op, p, "kernel_h", 0, 1, kMaxDim), g.kw = int_param(op, p, "kernel_w", 0, 1, kMaxDim);
  g.sh = int_param(op, p, "stride_h", g.kh, 1, kMaxDim), g.sw = int_param(op, p, "stride_w", g.kw, 1, kMaxDim);
  // torch: padding at most half the kernel, so every window touches the input.
  g.ph = int_param(op, p, "pad_h", 0, 0, g.kh / 2), g.pw = int_param(op, p, "pad_w", 0, 0, g.kw / 2);
  const bool is_max = mode == PoolMode::Max;
  g.dh = is_max ? int_param(op, p, "dilation_h", 1, 1, kMaxDim) : 1;
  g.dw = is_max ? int_param(op, p, "dilation_w", 1, 1, kMaxDim) : 1;
  g.count_include_pad = !is_max && int_param(op, p, "count_include_pad", 1, 0, 1) == 1;
  const bool ceil_mode = int_param(op, p, "ceil_mode", 0, 0, 1) == 1;
  g.oh = pool_out_size(g.h, g.kh, g.sh, g.ph, g.dh, ceil_mode);
  g.ow = pool_out_size(g.w, g.kw, g.sw, g.pw, g.dw, ceil_mode);
  if (g.oh < 1 || g.ow < 1 || g.planes < 1) op_error(op, "empty output for " + describe(in) + " with " + p.to_string());
  return g;
}

// One pooled value, as torch computes it: max over the taps inside the input (padding is -inf;
// a NaN wins, as in torch's `val > max || isnan(val)`),
// or the sum over them divided by the window clipped to the padded input (count_include_pad) or
// by the number of taps inside the input.
float pool_value(const PoolGeometry& g, PoolMode mode, const float* plane, int64_t oy, int64_t ox) {
  const int64_t y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
  double acc = mode == PoolMode::Max ? -std::numeric_limits<double>::infinity() : 0.0;
  int64_t inside = 0;
  for (int64_t ky = 0; ky < g.kh; ++ky) {
    const int64_t iy = y0 + ky * g.dh;
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t ix = x0 + kx * g.dw;
      if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
      const double v = plane[iy * g.w + ix];
      acc = mode == PoolMode::Max ? ((v > acc || std::isnan(v)) ? v : acc) : acc + v;
      ++inside;
    }
  }
  if (mode == PoolMode::Max) return static_cast<float>(acc);
  const int64_t padded = (std::min(y0 + g.kh, g.h + g.ph) - y0) * (std::min(x0 + g.kw, g.w + g.pw) - x0);
  return static_cast<float>(acc / static_cast<double>(g.count_include_pad ? padded : inside));
}

OpDef pool_op(const std::string& name, PoolMode mode) {
  OpDef def;
  def.name = name;
  def.summary = name + "(x[N,C,H,W]): float32/float16/bfloat16, output in x's dtype, torch semantics; params " +
                "kernel_h/w, stride_h/w (default kernel), " +
                "pad_h/w, ceil_mode" + (mode == PoolMode::Max ? ", dilation_h/w" : ", count_include_pad (default 1)");
  def.infer = [name, mode](const std::vector<TensorSpec>& in, const OpParams& p) {
    const PoolGeometry g = pool_geometry(name, mode, in, p);
    return std::vector<TensorSpec>{{in[0].dtype, {in[0].shape[0], in[0].shape[1], g.oh, g.ow}}};
  };
  def.reference = [name, mode](const std::vector<Tensor>& in, const OpParams& p) {
    const PoolGeometry g = pool_geometry(name, mode, {{in[0].dtype(), in[0].shape()}}, p);
    const std::vector<float> x = in[0].to_float_vector();
    std::vector<float> out(static_cast<size_t>(g.planes * g.oh * g.ow));
    for (int64_t pl = 0; pl < g.planes; ++pl) {
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          out[static_cast<size_t>((pl * g.oh + oy) * g.ow + ox)] =
              pool_value(g, mode, x.data() + pl * g.h * g.w, oy, ox);
        }
      }
    }
    return std::vector<Tensor>{Tensor::from_floats(in[0].dtype(), {in[0].shape()[0], in[0].shape()[1], g.oh, g.ow}, out)};
  };
  def.encode = [name, mode](EncodeContext& ctx, const std::vector<DeviceTensor>& in,
                            const std::vector<DeviceTensor>& out, const OpParams& p) {
    const PoolGeometry g = pool_geometry(name, mode, {{in[0].dtype, in[0].shape}}, p);
    KernelLaunch launch = grid_1d("pool2d", static_cast<uint64_t>(out[0].numel()), kLocal);
    launch.buffers = {in[0].buffer.get(), out[0].buffer.get()};
    launch.set_params(Pool2dParams{u32(g.planes), u32(g.h), u32(g.w), u32(g.oh), u32(g.ow), u32(g.kh), u32(g.kw),
                                   u32(g.sh), u32(g.sw), u32(g.ph), u32(g.pw), u32(g.dh), u32(g.dw),
                                   static_cast<uint32_t>(mode), g.count_include_pad ? 1u : 0u,
                                   float_dtype_code(in[0].dtype)});
    ctx.launch(launch);
  };
  def.cases = [mode] {
    const bool is_max = mode == PoolMode::Max;
    std::vector<std::pair<Shape, OpParams>> shapes = {
        {{1, 1, 1, 1}, {{"kernel_h", 1}, {"kernel_w", 1}}},
        {{2, 3, 7, 11},
         {{"kernel_h", 3}, {"kernel_w", 3}, {"stride_h", 2}, {"stride_w", 2}, {"pad_h", 1}, {"pad_w", 1}}},
        {{1, 5, 13, 17}, {{"kernel_h", 2}, {"kernel_w", 3}, {"pad_h", 1}, {"pad_w", 1}, {"ceil_mode", 1}}},
        {{3, 2, 9, 31}, {{"kernel_h", 2}, {"kernel_w", 2}, {"stride_h", 1}, {"stride_w", 1}}},
        {{1, 7, 29, 23},
         {{"kernel_h", 5}, {"kernel_w", 3}, {"stride_h", 3}, {"stride_w", 2}, {"pad_h", 2}, {"ceil_mode", 1}}},
        // max: dilation; avg: divide by the taps inside the input only
        {{1, 3, 12, 12},
         {{"kernel_h", 3}, {"kernel_w", 3}, {"stride_h", 2}, {"stride_w", 2}, {"pad_h", 1}, {"pad_w", 1},
          {is_max ? "dilation_h" : "count_include_pad", is_max ? 2 : 0}}},
    };
    std::vector<OpCase> cases;
    uint32_t seed = is_max ? 800 : 850;
    for (auto& [shape, params] : shapes) {
      cases.push_back({shape_to_string(shape), {random_tensor(DType::F32, shape, seed++)}, params});
    }
    for (DType dtype : kNarrowFloatDTypes) {
      for (size_t i : {size_t{1}, size_t{4}}) {
        cases.push_back({dtype_tag(dtype) + shape_to_string(shapes[i].first), {random_tensor(dtype, shapes[i].first, seed++)},
                         shapes[i].second});
      }
    }
    for (DType dtype : float_dtypes()) {
      const auto& [shape, params] = shapes[2];
      cases.push_back({dtype_tag(dtype) + shape_to_string(shape) + " special values",
                       {with_special_values(random_tensor(dtype, shape, seed++), 7, 3)}, params});
    }
    return cases;
  };
  // max selects one of its inputs: bit for bit (NaN, ±inf and the sign of zero included).
  def.checks = {OutputCheck{.exact = mode == PoolMode::Max}};
  return def;
}

}  // namespace

void add_conv_ops(std::vector<OpDef>& ops) {
  ops.push_back(conv2d_op());
  ops.push_back(pool_op("max_pool2d", PoolMode::Max));
  ops.push_back(pool_op("avg_pool2d", PoolMode::Avg));
}

}  // namespace pq::rt
