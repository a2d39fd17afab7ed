#include "runtime/model/perplexity.h"

#include <chrono>
#include <cmath>
#include <stdexcept>

namespace pq::rt::model {

double log_probability(const float* logits, int64_t vocab, int32_t target) {
  double max = -INFINITY;
  for (int64_t i = 0; i < vocab; ++i) max = std::max(max, static_cast<double>(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  return static_cast<double>(logits[target]) - max - std::log(sum);
}

PerplexityResult perplexity(DecoderRunner& runner, const std::vector<int32_t>& tokens, const PerplexityOptions& options,
                            const std::function<void(const PerplexityProgress&)>& on_window) {
  const int64_t ctx = options.ctx;
  if (ctx < 4) throw std::invalid_argument("--ctx must be at least 4, got " + std::to_string(ctx));
  if (ctx > runner.max_context()) {
    throw std::invalid_argument("--ctx " + std::to_string(ctx) + " is longer than the context of " + std::to_string(runner.max_context()));
  }
  int64_t windows = static_cast<int64_t>(tokens.size()) / ctx;
  if (options.max_windows > 0) windows = std::min(windows, options.max_windows);
  if (windows < 1) {
    throw std::invalid_argument("the text has " + std::to_string(tokens.size()) + " tokens, fewer than one window of " +
                                std::to_string(ctx) + " (--ctx)");
  }
  const int64_t first = ctx / 2;
  std::vector<int32_t> rows;
  for (int64_t i = first; i < ctx - 1; ++i) rows.push_back(static_cast<int32_t>(i));
  const auto start_time = std::chrono::steady_clock::now();
  double nll = 0, nll2 = 0;
  PerplexityResult result;
  for (int64_t w = 0; w < windows; ++w) {
    std::vector<int32_t> window(tokens.begin() + w * ctx, tokens.begin() + (w + 1) * ctx);
    if (options.bos) window[0] = *options.bos;
    const Tensor logits = runner.logits(window, 0, rows);
    const int64_t vocab = logits.size(1);
    const float* data = logits.data<float>();
    for (size_t r = 0; r < rows.size(); ++r) {
      const int32_t target = tokens[static_cast<size_t>(w * ctx + rows[r] + 1)];
      const double v = -log_probability(data + static_cast<int64_t>(r) * vocab, vocab, target);
      nll += v;
      nll2 += v * v;
    }
    result.scored_tokens += static_cast<int64_t>(rows.size());
    result.evaluated_tokens += ctx;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
    if (on_window) on_window({w + 1, windows, std::exp(nll / static_cast<double>(result.scored_tokens)), result.seconds});
  }
  const auto count = static_cast<double>(result.scored_tokens);
  const double mean = nll / count;
  const double variance = nll2 / count - mean * mean;
  result.windows = windows;
  result.perplexity = std::exp(mean);
  result.uncertainty = variance > 0 && count > 1 ? result.perplexity * std::sqrt(variance / (count - 1)) : 0;
  return result;
}

}  // namespace pq::rt::model
