#include "runtime/model/evaluate.h"

#include <algorithm>
#include <stdexcept>

namespace pq::rt::model {

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const std::vector<float> v = logits.to_float_vector();
  const int64_t classes = logits.size(-1);
  std::vector<int64_t> out;
  for (size_t r = 0; r + static_cast<size_t>(classes) <= v.size(); r += static_cast<size_t>(classes)) {
    const auto row = v.begin() + static_cast<std::ptrdiff_t>(r);
    out.push_back(std::max_element(row, row + classes) - row);
  }
  return out;
}

Tensor rows(const Tensor& t, int64_t start, int64_t end) { return t.slice(0, start, end).contiguous(); }

Accuracy evaluate(ModelRunner& runner, const Tensor& images, const Tensor& labels, int64_t batch_size) {
  if (labels.numel() != images.size(0)) {
    throw std::invalid_argument("labels " + shape_to_string(labels.shape()) + " do not match images " + shape_to_string(images.shape()));
  }
  const std::vector<float> truth = labels.to_float_vector();
  Accuracy acc;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const int64_t end = std::min(images.size(0), start + batch_size);
    const std::vector<int64_t> predicted = argmax_rows(runner.forward(rows(images, start, end)));
    for (size_t i = 0; i < predicted.size(); ++i) {
      acc.correct += predicted[i] == static_cast<int64_t>(truth[static_cast<size_t>(start) + i]) ? 1 : 0;
      ++acc.total;
    }
  }
  return acc;
}

}  // namespace pq::rt::model
