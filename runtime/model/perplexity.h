// Perplexity as llama.cpp's `perplexity` computes it: the text's tokens are cut into
// consecutive windows of ctx tokens (the tail that does not fill a window is dropped), each
// window runs from an empty cache (its first token replaced by BOS when the tokenizer adds
// one), and only the second half of each window is scored: the negative log-likelihood of
// token i + 1 given tokens 0..i, for i from ctx/2 to ctx - 2.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "runtime/model/decoder_runner.h"

namespace pq::rt::model {

struct PerplexityOptions {
  int64_t ctx = 512;
  std::optional<int32_t> bos;  // replaces each window's first token (llama.cpp with add_bos)
  int64_t max_windows = 0;     // 0: every full window of the text
};

struct PerplexityProgress {
  int64_t window, windows;  // 1-based
  double perplexity;        // over the windows so far
  double seconds;
};

struct PerplexityResult {
  double perplexity = 0;
  double uncertainty = 0;   // ± as llama.cpp prints it (standard error of the mean NLL, in ppl units)
  int64_t windows = 0;
  int64_t scored_tokens = 0;
  double seconds = 0;
  int64_t evaluated_tokens = 0;  // tokens run through the model
  double tokens_per_second() const { return seconds > 0 ? static_cast<double>(evaluated_tokens) / seconds : 0; }
};

// Natural-log probability of `target` under float logits (log-softmax in double).
double log_probability(const float* logits, int64_t vocab, int32_t target);

PerplexityResult perplexity(DecoderRunner& runner, const std::vector<int32_t>& tokens, const PerplexityOptions& options,
                            const std::function<void(const PerplexityProgress&)>& on_window = {});

}  // namespace pq::rt::model
