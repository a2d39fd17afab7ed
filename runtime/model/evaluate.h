// Classification accuracy of a model over a labelled data set (images + labels).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/model/model_runner.h"

namespace pq::rt::model {

struct Accuracy {
  int64_t correct = 0;
  int64_t total = 0;
  double percent() const { return total ? 100.0 * static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

// Index of the largest value in each row of [N, C] logits; a row holding NaN has none
// (std::runtime_error naming the row), rather than being counted as class 0.
std::vector<int64_t> argmax_rows(const Tensor& logits);

// Runs `images` (dim 0 = samples) in batches of `batch_size` (>= 1) and compares the argmax
// with `labels`, which must be class indices (integers in [0, classes)). NaN logits are an
// error naming the batch, not a prediction.
Accuracy evaluate(ModelRunner& runner, const Tensor& images, const Tensor& labels, int64_t batch_size = 128);

// The rows [start, end) of `t` along dim 0, as a contiguous tensor.
Tensor rows(const Tensor& t, int64_t start, int64_t end);

}  // namespace pq::rt::model
