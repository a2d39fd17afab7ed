// Runs a decoder on a device with its KV cache there. A block of tokens (a prompt, a
// perplexity window, one generated token) runs eagerly the first time its shape is seen, which
// uploads the weights; later blocks of the same shape replay a plan recorded for it, after
// uploading the few int32 values that change (token ids, positions, cache length). Only the
// requested logits (or the argmax token) come back.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "host/nn/pretrained.h"
#include "runtime/model/decoder_forward.h"
#include "runtime/model/device_memory.h"

namespace pq::rt::model {

class DecoderRunner {
 public:
  // `max_context`: cache length (0: the model's maximum, capped at 4096).
  DecoderRunner(nn::Model& model, Device device, int64_t max_context = 0, DecoderOptions options = {});
  ~DecoderRunner();

  // Runs `tokens` at positions start .. start + n - 1 (the cache must hold positions < start)
  // and returns float32 logits [m, vocab] for the block rows `logit_rows`.
  Tensor logits(std::span<const int32_t> tokens, int64_t start, std::span<const int32_t> logit_rows);
  // The same for the last row only, returning its argmax (greedy decoding reads back 4 bytes).
  int32_t argmax_next(std::span<const int32_t> tokens, int64_t start);

  // quanto's Calibration over the samples (each a block from position 0), then drops uploads
  // and plans (the scales changed).
  void calibrate(const std::vector<std::vector<int32_t>>& samples, const nn::CalibrationOptions& options);

  int64_t max_context() const { return max_context_; }
  const Device& device() const { return device_; }
  DeviceMemory memory() const;

 private:
  struct Plan;
  Plan& plan_for(int64_t n, int64_t rows, bool argmax);
  void set_inputs(Plan& plan, std::span<const int32_t> tokens, int64_t start, std::span<const int32_t> logit_rows);
  Tensor run(std::span<const int32_t> tokens, int64_t start, std::span<const int32_t> logit_rows, bool argmax);
  void check_block(std::span<const int32_t> tokens, int64_t start, std::span<const int32_t> logit_rows) const;

  nn::Model& model_;
  Device device_;
  DecoderOptions options_;
  int64_t max_context_;
  Executor executor_;
  KvCache cache_;
  std::map<std::tuple<int64_t, int64_t, bool>, std::unique_ptr<Plan>> plans_;
};

}  // namespace pq::rt::model
