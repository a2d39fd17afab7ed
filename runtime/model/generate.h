// Text generation with a decoder: the prompt runs as one block, then one token per step
// (a replayed plan). Greedy decoding (temperature 0) takes the argmax on the device; sampling
// applies temperature, top-k and top-p in that order (as transformers' logits warpers do) to
// the last position's logits on the host.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "runtime/model/decoder_runner.h"

namespace pq::rt::model {

struct SamplingOptions {
  float temperature = 0.0f;  // 0: greedy
  int64_t top_k = 0;         // 0: no top-k filter
  float top_p = 1.0f;        // 1: no nucleus filter
  uint64_t seed = 0;
};

struct GenerationOptions {
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  std::vector<int64_t> stop_tokens;  // generation ends after producing one of these
};

struct GenerationStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prompt_seconds = 0;
  double generation_seconds = 0;  // every step after the first generated token
  double prompt_tokens_per_second() const { return prompt_seconds > 0 ? prompt_tokens / prompt_seconds : 0; }
  double generation_tokens_per_second() const {
    return generation_seconds > 0 && generated_tokens > 1 ? (generated_tokens - 1) / generation_seconds : 0;
  }
};

// Throws std::invalid_argument for options out of range (naming the option).
void check_sampling(const SamplingOptions& options);

// One token from float logits [vocab] under `options` (temperature > 0).
int32_t sample_token(std::vector<float> logits, const SamplingOptions& options, std::mt19937_64& rng);

// Generates after `prompt`, calling `on_token` with every new token as soon as it exists.
GenerationStats generate(DecoderRunner& runner, const std::vector<int32_t>& prompt, const GenerationOptions& options,
                         const std::function<void(int32_t)>& on_token);

}  // namespace pq::rt::model
