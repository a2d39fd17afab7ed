#include "runtime/model/evaluate.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace pq::rt::model {
namespace {

// Labels are class indices: integers in [0, classes).
void check_labels(const std::vector<float>& labels, int64_t classes) {
  for (size_t i = 0; i < labels.size(); ++i) {
    const float v = labels[i];
    if (!(v >= 0.0f && v < static_cast<float>(classes)) || v != std::floor(v)) {
      throw std::invalid_argument("label " + std::to_string(i) + " is " + std::to_string(v) + ", not a class index of the model's " +
                                  std::to_string(classes) + " outputs");
    }
  }
}

}  // namespace

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const std::vector<float> v = logits.to_float_vector();
  const int64_t classes = logits.size(-1);
  std::vector<int64_t> out;
  for (size_t r = 0; r + static_cast<size_t>(classes) <= v.size(); r += static_cast<size_t>(classes)) {
    const auto row = v.begin() + static_cast<std::ptrdiff_t>(r);
    // A NaN compares false with everything: max_element would return whatever came first.
    if (std::any_of(row, row + classes, [](float x) { return std::isnan(x); })) {
      throw std::runtime_error("the logits of row " + std::to_string(out.size()) + " hold NaN: no class can be predicted");
    }
    out.push_back(std::max_element(row, row + classes) - row);
  }
  return out;
}

Tensor rows(const Tensor& t, int64_t start, int64_t end) { return t.slice(0, start, end).contiguous(); }

Accuracy evaluate(ModelRunner& runner, const Tensor& images, const Tensor& labels, int64_t batch_size) {
  if (batch_size < 1) throw std::invalid_argument("batch size must be at least 1, got " + std::to_string(batch_size));
  if (images.dim() == 0 || labels.numel() != images.size(0)) {
    throw std::invalid_argument("labels " + shape_to_string(labels.shape()) + " do not match images " + shape_to_string(images.shape()));
  }
  const std::vector<float> truth = labels.to_float_vector();
  Accuracy acc;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const int64_t end = std::min(images.size(0), start + batch_size);
    const Tensor logits = runner.forward(rows(images, start, end));
    if (logits.dim() != 2 || logits.size(0) != end - start) {
      throw std::invalid_argument("the model's output " + shape_to_string(logits.shape()) + " is not [samples, classes] logits");
    }
    if (start == 0) check_labels(truth, logits.size(1));
    std::vector<int64_t> predicted;
    try {
      predicted = argmax_rows(logits);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("sample " + std::to_string(start) + "+: " + e.what());
    }
    for (size_t i = 0; i < predicted.size(); ++i) {
      acc.correct += predicted[i] == static_cast<int64_t>(truth[static_cast<size_t>(start) + i]) ? 1 : 0;
      ++acc.total;
    }
  }
  return acc;
}

}  // namespace pq::rt::model
