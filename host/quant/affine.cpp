#include "host/quant/affine.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "host/parallel.h"
#include "host/quant/dtype_arithmetic.h"

namespace pq {
namespace {

struct GroupView {
  int64_t groups;
  int64_t group_len;
  bool per_column;  // one group row: quanto reduces over dim 0 instead, one scale per element

  // The scale/shift of element j of group r.
  size_t param(int64_t r, int64_t j) const { return static_cast<size_t>(per_column ? j : r); }
};

GroupView group_view(const Tensor& grouped) {
  if (grouped.dim() < 1) throw std::invalid_argument("affine quantization needs at least one dimension");
  const int64_t groups = grouped.size(0);
  const int64_t len = groups ? grouped.numel() / groups : 0;
  return {groups, len, groups == 1 && len > 1};
}

// (groups, 1, ...), or the grouped shape with dim 0 reduced for a single group row.
Shape param_shape(const Tensor& grouped, const GroupView& view) {
  if (view.per_column) {
    Shape s = grouped.shape();
    s.front() = 1;
    return s;
  }
  Shape s(grouped.shape().size(), 1);
  s.front() = grouped.size(0);
  return s;
}

float max_code(int bits) { return static_cast<float>((1 << bits) - 1); }

// A zero-range group has scale 0: its 0/0 is NaN, which torch casts to code 0 on the CPU (and
// the group dequantizes exactly, 0·0 + min).
uint8_t quantize_one(const DTypeArithmetic& arith, float w, float scale, float shift, float qmax) {
  const float v = std::nearbyint(arith.div(arith.add(w, shift), scale));
  return std::isnan(v) ? 0 : static_cast<uint8_t>(std::clamp(v, 0.0f, qmax));
}

float dequantize_one(const DTypeArithmetic& arith, uint8_t q, float scale, float shift) {
  return arith.sub(arith.mul(scale, static_cast<float>(q)), shift);
}

// HQQ's generalized soft-thresholding for an lp "norm" with p < 1.
float shrink_lp(float x, float beta, float p) {
  const float magnitude = std::fabs(x);
  if (magnitude == 0.0f) return 0.0f;
  const float shrunk = magnitude - std::pow(magnitude, p - 1.0f) / beta;
  return shrunk > 0.0f ? std::copysign(shrunk, x) : 0.0f;
}

struct GroupState {
  const float* w;
  int64_t n;
  float scale;
  float shift;
};

double mean_abs_error(const DTypeArithmetic& arith, const GroupState& g, const std::vector<uint8_t>& q, float shift) {
  double sum = 0;
  for (int64_t j = 0; j < g.n; ++j) sum += std::fabs(static_cast<double>(g.w[j]) - dequantize_one(arith, q[static_cast<size_t>(j)], g.scale, shift));
  return sum / static_cast<double>(g.n);
}

void quantize_group(const DTypeArithmetic& arith, const GroupState& g, float shift, float qmax, std::vector<uint8_t>& q) {
  for (int64_t j = 0; j < g.n; ++j) q[static_cast<size_t>(j)] = quantize_one(arith, g.w[j], g.scale, shift, qmax);
}

float hqq_refine_group(const DTypeArithmetic& arith, const GroupState& g, float qmax, const HqqOptions& opt) {
  std::vector<uint8_t> q(static_cast<size_t>(g.n));
  quantize_group(arith, g, g.shift, qmax, q);
  double best_error = mean_abs_error(arith, g, q, g.shift);
  float best_shift = g.shift;
  float beta = opt.beta;
  for (int it = 0; it < opt.iterations && best_error > 0; ++it) {
    // The shift that best explains W by the current codes, after shrinking the outliers of the error.
    double sum = 0;
    for (int64_t j = 0; j < g.n; ++j) {
      const float w = g.w[j];
      const float error = w - dequantize_one(arith, q[static_cast<size_t>(j)], g.scale, best_shift);
      const float target = arith.sub(w, shrink_lp(error, beta, opt.lp_norm));
      sum += arith.sub(arith.mul(static_cast<float>(q[static_cast<size_t>(j)]), g.scale), target);
    }
    const float candidate = arith.round(static_cast<float>(sum / static_cast<double>(g.n)));
    std::vector<uint8_t> candidate_codes(q.size());
    quantize_group(arith, g, candidate, qmax, candidate_codes);
    const double error = mean_abs_error(arith, g, candidate_codes, candidate);
    if (!(error < best_error)) break;
    best_error = error;
    best_shift = candidate;
    q.swap(candidate_codes);
    beta *= opt.kappa;
  }
  return best_shift;
}

// quanto's HqqOptimizer.optimize, every group in lockstep: each iteration moves every shift to
// mean(q·scale − (W − shrink(W − W'))) over its group, and is kept only when the mean absolute
// error of the whole tensor falls; the first iteration that does not improve ends them all.
// Each elementwise step rounds to the dtype as torch's op does (codes·scale, W − e, ...).
float hqq_group_shift(const DTypeArithmetic& arith, const float* w, const uint8_t* q, int64_t n, float scale, float shift, float beta,
                      float lp_norm) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float error = arith.sub(w[j], dequantize_one(arith, q[j], scale, shift));
    const float target = arith.sub(w[j], arith.round(shrink_lp(error, beta, lp_norm)));
    sum += arith.sub(arith.mul(static_cast<float>(q[j]), scale), target);
  }
  return arith.round(static_cast<float>(sum / static_cast<double>(n)));
}

// Quantizes every group with `shift` into `q` and returns the mean |W − W'| of the tensor, in
// the dtype.
double quantize_all(const DTypeArithmetic& arith, const std::vector<float>& w, const GroupView& view, const std::vector<float>& scale,
                    const std::vector<float>& shift, float qmax, std::vector<uint8_t>& q) {
  std::vector<double> group_error(static_cast<size_t>(view.groups));
  parallel_for(view.groups, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const auto ur = static_cast<size_t>(r);
      const int64_t base = r * view.group_len;
      double sum = 0;
      for (int64_t j = 0; j < view.group_len; ++j) {
        const auto i = static_cast<size_t>(base + j);
        q[i] = quantize_one(arith, w[i], scale[ur], shift[ur], qmax);
        sum += std::fabs(arith.sub(w[i], dequantize_one(arith, q[i], scale[ur], shift[ur])));
      }
      group_error[ur] = sum;
    }
  });
  double total = 0;
  for (double e : group_error) total += e;
  // torch's mean of an f16/bf16 tensor is f16/bf16: quanto compares the rounded errors (and
  // stops at a tie).
  return arith.round(static_cast<float>(total / static_cast<double>(w.size())));
}

std::vector<float> hqq_lockstep(const DTypeArithmetic& arith, const std::vector<float>& w, const GroupView& view,
                                const std::vector<float>& scale, std::vector<float> shift, float qmax, const HqqOptions& opt) {
  std::vector<uint8_t> q(w.size()), candidate_codes(w.size());
  double best_error = quantize_all(arith, w, view, scale, shift, qmax, q);
  std::vector<float> candidate(shift.size());
  float beta = opt.beta;
  for (int it = 0; it < opt.iterations; ++it) {
    parallel_for(view.groups, 64, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const auto ur = static_cast<size_t>(r);
        const int64_t base = r * view.group_len;
        candidate[ur] = hqq_group_shift(arith, w.data() + base, q.data() + base, view.group_len, scale[ur], shift[ur], beta, opt.lp_norm);
      }
    });
    const double error = quantize_all(arith, w, view, scale, candidate, qmax, candidate_codes);
    if (!(error < best_error)) break;
    best_error = error;
    shift.swap(candidate);
    q.swap(candidate_codes);
    beta *= opt.kappa;
  }
  return shift;
}

}  // namespace

Tensor group_weight(const Tensor& weight, std::optional<int> group_size) {
  if (!group_size) return weight.contiguous();
  const int64_t g = *group_size;
  if (g <= 0 || weight.numel() % g != 0) {
    throw std::invalid_argument("group size " + std::to_string(g) + " does not divide the " +
                                std::to_string(weight.numel()) + " elements of a weight of shape " +
                                shape_to_string(weight.shape()));
  }
  return weight.reshape({weight.numel() / g, g});
}

AffineParams max_optimizer(const Tensor& grouped, QType qtype) {
  const GroupView view = group_view(grouped);
  const DTypeArithmetic arith(grouped.dtype());
  const std::vector<float> w = grouped.to_float_vector();
  const Shape shape = param_shape(grouped, view);
  if (view.per_column) {
    // quanto's max over a single row per column: range 0, scale 0, shift -w (exact).
    std::vector<float> shift(w.size());
    for (size_t j = 0; j < w.size(); ++j) shift[j] = -w[j];
    return {Tensor::zeros(grouped.dtype(), shape), Tensor::from_floats(grouped.dtype(), shape, shift)};
  }
  std::vector<float> scale(static_cast<size_t>(view.groups)), shift(static_cast<size_t>(view.groups));
  const float qmax = max_code(qtype_info(qtype).bits);
  parallel_for(view.groups, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = w.data() + r * view.group_len;
      float lo = row[0], hi = row[0];
      for (int64_t j = 1; j < view.group_len; ++j) {
        lo = std::min(lo, row[j]);
        hi = std::max(hi, row[j]);
      }
      scale[static_cast<size_t>(r)] = arith.div(arith.sub(hi, lo), qmax);  // 0 for a zero-range group, as quanto
      shift[static_cast<size_t>(r)] = -lo;
    }
  });
  return {Tensor::from_floats(grouped.dtype(), shape, scale), Tensor::from_floats(grouped.dtype(), shape, shift)};
}

AffineParams hqq_optimizer(const Tensor& grouped, QType qtype, const HqqOptions& options) {
  AffineParams params = max_optimizer(grouped, qtype);
  const GroupView view = group_view(grouped);
  if (view.per_column) return params;  // every element is already exact
  const DTypeArithmetic arith(grouped.dtype());
  const std::vector<float> w = grouped.to_float_vector();
  const std::vector<float> scale = params.scale.to_float_vector();
  std::vector<float> shift = params.shift.to_float_vector();
  const float qmax = max_code(qtype_info(qtype).bits);
  if (options.stop_per_group) {
    parallel_for(view.groups, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const auto ur = static_cast<size_t>(r);
        const GroupState g{w.data() + r * view.group_len, view.group_len, scale[ur], shift[ur]};
        shift[ur] = hqq_refine_group(arith, g, qmax, options);
      }
    });
  } else {
    shift = hqq_lockstep(arith, w, view, scale, std::move(shift), qmax, options);
  }
  params.shift = Tensor::from_floats(grouped.dtype(), params.shift.shape(), shift);
  return params;
}

Tensor quantize_affine(const Tensor& grouped, int bits, const AffineParams& params) {
  const GroupView view = group_view(grouped);
  const int64_t expected = view.per_column ? view.group_len : view.groups;
  if (params.scale.numel() != expected || params.shift.numel() != expected) {
    throw std::invalid_argument("affine scale/shift of shape " + shape_to_string(params.scale.shape()) +
                                " do not match grouped weight " + shape_to_string(grouped.shape()));
  }
  const DTypeArithmetic arith(grouped.dtype());
  const std::vector<float> w = grouped.to_float_vector();
  const std::vector<float> scale = params.scale.to_float_vector();
  const std::vector<float> shift = params.shift.to_float_vector();
  Tensor codes = Tensor::zeros(DType::U8, grouped.shape());
  uint8_t* q = codes.data<uint8_t>();
  const float qmax = max_code(bits);
  parallel_for(view.groups, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t j = 0; j < view.group_len; ++j) {
        const size_t i = static_cast<size_t>(r * view.group_len + j), k = view.param(r, j);
        q[i] = quantize_one(arith, w[i], scale[k], shift[k], qmax);
      }
    }
  });
  return codes;
}

Tensor dequantize_affine(const Tensor& codes, const AffineParams& params) {
  const GroupView view = group_view(codes);
  const DTypeArithmetic arith(params.scale.dtype());
  const Tensor c = codes.contiguous();
  const uint8_t* q = c.data<uint8_t>();
  const std::vector<float> scale = params.scale.to_float_vector();
  const std::vector<float> shift = params.shift.to_float_vector();
  std::vector<float> w(static_cast<size_t>(c.numel()));
  for (int64_t r = 0; r < view.groups; ++r) {
    for (int64_t j = 0; j < view.group_len; ++j) {
      const size_t i = static_cast<size_t>(r * view.group_len + j), k = view.param(r, j);
      w[i] = dequantize_one(arith, q[i], scale[k], shift[k]);
    }
  }
  return Tensor::from_floats(params.scale.dtype(), c.shape(), w);
}

}  // namespace pq
