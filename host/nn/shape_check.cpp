#include "host/nn/shape_check.h"

#include <algorithm>
#include <stdexcept>

#include "host/nn/layers.h"

namespace pq::nn {
namespace {

[[noreturn]] void refuse(const std::string& name, const Module& m, const Shape& input, const std::string& why) {
  throw std::invalid_argument("module '" + name + "' (" + std::string(m.type()) + "): input " + shape_to_string(input) + " " + why);
}

Shape linear(const std::string& name, const Linear& l, const Shape& in) {
  if (in.empty() || in.back() != l.in_features) refuse(name, l, in, "does not end in in_features " + std::to_string(l.in_features));
  Shape out = in;
  out.back() = l.out_features;
  return out;
}

void expect_image_batch(const std::string& name, const Module& m, const Shape& in) {
  if (in.size() != 4) refuse(name, m, in, "must be [batch, channels, height, width]");
}

// torch's output size of a convolution or pooling window along one dim (ceil_mode as in
// pooling_output_shape: the last window must start inside the input or its left padding).
int64_t window_count(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, bool ceil_mode) {
  const int64_t span = size + 2 * pad - dilation * (kernel - 1) - 1;
  if (span < 0) return 0;
  int64_t out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

Shape windows(const std::string& name, const Module& m, const Shape& in, int64_t channels, const std::array<int64_t, 2>& kernel,
              const std::array<int64_t, 2>& stride, const std::array<int64_t, 2>& pad, const std::array<int64_t, 2>& dilation,
              bool ceil_mode) {
  const int64_t h = window_count(in[2], kernel[0], stride[0], pad[0], dilation[0], ceil_mode);
  const int64_t w = window_count(in[3], kernel[1], stride[1], pad[1], dilation[1], ceil_mode);
  if (h < 1 || w < 1) {
    refuse(name, m, in, "is smaller than the " + std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]) +
                            " window (with padding and dilation): the output would be empty");
  }
  return {in[0], channels, h, w};
}

Shape conv2d(const std::string& name, const Conv2d& c, const Shape& in) {
  expect_image_batch(name, c, in);
  if (in[1] != c.in_channels) refuse(name, c, in, "has " + std::to_string(in[1]) + " channels, not in_channels " + std::to_string(c.in_channels));
  return windows(name, c, in, c.out_channels, c.kernel_size, c.stride, c.padding, c.dilation, false);
}

Shape pool(const std::string& name, const Pool2d& p, const Shape& in) {
  expect_image_batch(name, p, in);
  const auto* max = dynamic_cast<const MaxPool2d*>(&p);
  return windows(name, p, in, in[1], p.kernel_size, p.stride, p.padding, max ? max->dilation : std::array<int64_t, 2>{1, 1},
                 p.ceil_mode);
}

Shape layer_norm(const std::string& name, const LayerNorm& n, const Shape& in) {
  const Shape& normalized = n.normalized_shape;
  if (in.size() < normalized.size() || !std::equal(normalized.begin(), normalized.end(), in.end() - static_cast<std::ptrdiff_t>(normalized.size()))) {
    refuse(name, n, in, "does not end in normalized_shape " + shape_to_string(normalized));
  }
  return in;
}

Shape flatten(const std::string& name, const Flatten& f, const Shape& in) {
  const auto rank = static_cast<int64_t>(in.size());
  if (rank == 0) return {1};  // torch flattens a 0-dim tensor to [1]
  const int64_t start = f.start_dim < 0 ? f.start_dim + rank : f.start_dim;
  const int64_t end = f.end_dim < 0 ? f.end_dim + rank : f.end_dim;
  if (start < 0 || start >= rank || end < 0 || end >= rank) {
    refuse(name, f, in, "has " + std::to_string(rank) + " dims, so start_dim " + std::to_string(f.start_dim) + " and end_dim " +
                            std::to_string(f.end_dim) + " are out of range");
  }
  if (start > end) refuse(name, f, in, "flattened from start_dim " + std::to_string(start) + " past end_dim " + std::to_string(end));
  Shape out(in.begin(), in.begin() + start);
  out.push_back(checked_numel(Shape(in.begin() + start, in.begin() + end + 1)).value_or(0));  // in has no empty dim
  out.insert(out.end(), in.begin() + end + 1, in.end());
  return out;
}

Shape embedding(const Embedding& e, const Shape& in) {
  Shape out = in;
  out.push_back(e.embedding_dim);
  return out;
}

Shape leaf(const std::string& name, const Module& m, const Shape& in) {
  if (auto* l = dynamic_cast<const Linear*>(&m)) return linear(name, *l, in);
  if (auto* c = dynamic_cast<const Conv2d*>(&m)) return conv2d(name, *c, in);
  if (auto* p = dynamic_cast<const Pool2d*>(&m)) return pool(name, *p, in);
  if (auto* n = dynamic_cast<const LayerNorm*>(&m)) return layer_norm(name, *n, in);
  if (auto* f = dynamic_cast<const Flatten*>(&m)) return flatten(name, *f, in);
  if (auto* e = dynamic_cast<const Embedding*>(&m)) return embedding(*e, in);
  if (dynamic_cast<const ReLU*>(&m) || dynamic_cast<const SiLU*>(&m) || dynamic_cast<const GELU*>(&m)) return in;
  throw std::invalid_argument("module '" + name + "' (" + std::string(m.type()) + ") has no shape rule for an nn.Sequential forward");
}

// Whether the values reaching a module are still the model's input (only Flatten on the way).
struct Flow {
  Shape shape;
  bool is_input = true;
};

void check(const std::string& name, const Module& m, Flow& flow) {
  if (!m.children().empty()) {
    for (const auto& [child_name, child] : m.children()) check(name.empty() ? child_name : name + "." + child_name, *child, flow);
    return;
  }
  // An embedding takes row indices: the model's input, never the float output of a layer.
  if (dynamic_cast<const Embedding*>(&m) && !flow.is_input) {
    throw std::invalid_argument("module '" + name + "' (Embedding): its input would be the output of an earlier layer, not row "
                                "indices; an embedding can only take the model's input");
  }
  if (!dynamic_cast<const Flatten*>(&m)) flow.is_input = false;
  const Shape& shape = flow.shape;
  Shape out = leaf(name, m, shape);
  const std::optional<int64_t> numel = checked_numel(out);
  if (!numel || *numel > kMaxTensorElements) {
    throw std::invalid_argument("module '" + name + "' (" + std::string(m.type()) + "): its output " + shape_to_string(out) +
                                " has more than 2^31 - 1 elements, the runtime's limit per tensor");
  }
  flow.shape = std::move(out);
}

}  // namespace

std::optional<int64_t> checked_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return n;
}

Shape check_forward_shapes(const Module& root, const Shape& input) {
  const std::optional<int64_t> numel = checked_numel(input);
  if (!numel || *numel > kMaxTensorElements) {
    throw std::invalid_argument("input " + shape_to_string(input) + " has more than 2^31 - 1 elements, the runtime's limit per tensor");
  }
  // Without empty dims, no product of some of the dims exceeds the product of all of them.
  if (*numel == 0) throw std::invalid_argument("input " + shape_to_string(input) + " is empty");
  Flow flow{input};
  check("", root, flow);
  return flow.shape;
}

}  // namespace pq::nn
