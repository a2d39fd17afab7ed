// Runs a BERT encoder on a device over batches of token sequences (right-padded, with the
// attention mask given by their lengths) and turns the last hidden states into
// sentence-transformers embeddings: attention-masked mean pooling, then L2 normalisation.
// A batch shape seen a second time replays a recorded plan.
#pragma once

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "host/nn/pretrained.h"
#include "runtime/model/encoder_forward.h"

namespace pq::rt::model {

class EncoderRunner {
 public:
  EncoderRunner(nn::Model& model, Device device);
  ~EncoderRunner();

  // last_hidden_state as float32 [B, S, hidden], S the longest sequence.
  Tensor last_hidden_state(const std::vector<std::vector<int32_t>>& batch);
  // Mean-pooled (over each sequence's tokens), L2-normalised embeddings, float32 [B, hidden].
  Tensor embeddings(const std::vector<std::vector<int32_t>>& batch);

  // quanto's Calibration over the samples, one sequence per forward.
  void calibrate(const std::vector<std::vector<int32_t>>& samples, const nn::CalibrationOptions& options);

  const Device& device() const { return device_; }
  uint64_t weight_bytes() const;

 private:
  struct Plan;
  Plan& plan_for(int64_t batch, int64_t seq);
  void set_inputs(Plan& plan, const std::vector<std::vector<int32_t>>& batch);
  void check_batch(const std::vector<std::vector<int32_t>>& batch) const;

  nn::Model& model_;
  Device device_;
  Executor executor_;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Plan>> plans_;
};

// Mean over the first lengths[b] rows of each hidden[b], then divided by its L2 norm
// (sentence-transformers' Pooling(mean) + Normalize), in double; float32 [B, hidden].
Tensor mean_pool_normalize(const Tensor& hidden, const std::vector<int64_t>& lengths);

}  // namespace pq::rt::model
