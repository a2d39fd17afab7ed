#include "runtime/model/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace pq::rt::model {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

void check_sampling(const SamplingOptions& o) {
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature)) {
    throw std::invalid_argument("--temperature must be a finite number >= 0, got " + std::to_string(o.temperature));
  }
  if (o.top_k < 0) throw std::invalid_argument("--top-k must be >= 0 (0 = off), got " + std::to_string(o.top_k));
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) throw std::invalid_argument("--top-p must be in (0, 1], got " + std::to_string(o.top_p));
}

int32_t sample_token(std::vector<float> logits, const SamplingOptions& o, std::mt19937_64& rng) {
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  // Candidates by descending logit (NaN logits never win a draw).
  for (float& v : logits) v = std::isnan(v) ? -INFINITY : v / o.temperature;
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  size_t keep = order.size();
  if (o.top_k > 0) keep = std::min(keep, static_cast<size_t>(o.top_k));
  const float max = logits[order[0]];
  std::vector<double> p(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp(static_cast<double>(logits[order[i]]) - max);
  if (o.top_p < 1.0f) {
    // The smallest prefix whose probability reaches top_p (at least one token), as transformers' TopPLogitsWarper.
    double cumulative = 0;
    size_t n = 0;
    while (n < keep && cumulative < o.top_p * sum) cumulative += p[n++];
    keep = std::max<size_t>(n, 1);
    p.resize(keep);
  }
  std::discrete_distribution<size_t> pick(p.begin(), p.end());
  return order[pick(rng)];
}

GenerationStats generate(DecoderRunner& runner, const std::vector<int32_t>& prompt, const GenerationOptions& options,
                         const std::function<void(int32_t)>& on_token) {
  check_sampling(options.sampling);
  if (prompt.empty()) throw std::invalid_argument("the prompt has no tokens");
  if (options.max_new_tokens < 0) throw std::invalid_argument("-n must be >= 0");
  const auto total = static_cast<int64_t>(prompt.size()) + options.max_new_tokens;
  if (total > runner.max_context()) {
    throw std::invalid_argument("prompt (" + std::to_string(prompt.size()) + " tokens) + " + std::to_string(options.max_new_tokens) +
                                " new tokens exceed the context of " + std::to_string(runner.max_context()) + " (--max-context)");
  }
  const bool greedy = options.sampling.temperature == 0.0f;
  std::mt19937_64 rng(options.sampling.seed);
  GenerationStats stats;
  stats.prompt_tokens = static_cast<int64_t>(prompt.size());
  auto next = [&](std::span<const int32_t> block, int64_t start) {
    if (greedy) return runner.argmax_next(block, start);
    const int32_t last = static_cast<int32_t>(block.size()) - 1;
    return sample_token(runner.logits(block, start, {&last, 1}).to_float_vector(), options.sampling, rng);
  };
  if (options.max_new_tokens == 0) return stats;
  auto t0 = Clock::now();
  int32_t token = next(prompt, 0);
  stats.prompt_seconds = seconds_since(t0);
  t0 = Clock::now();
  int64_t position = stats.prompt_tokens;
  for (;;) {
    ++stats.generated_tokens;
    on_token(token);
    const bool stop = std::find(options.stop_tokens.begin(), options.stop_tokens.end(), token) != options.stop_tokens.end();
    if (stop || stats.generated_tokens == options.max_new_tokens) break;
    token = next({&token, 1}, position++);
  }
  stats.generation_seconds = seconds_since(t0);
  return stats;
}

}  // namespace pq::rt::model
