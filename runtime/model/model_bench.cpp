#include "runtime/model/model_bench.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "runtime/model/decoder_runner.h"

namespace pq::rt::model {
namespace {

using Clock = std::chrono::steady_clock;

// Deterministic token ids inside the vocabulary (the values do not change the work done).
std::vector<int32_t> bench_tokens(int64_t n, int64_t vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  return t;
}

double prompt_run(DecoderRunner& runner, const std::vector<int32_t>& tokens) {
  const auto t0 = Clock::now();
  runner.argmax_next(tokens, 0);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double generation_run(DecoderRunner& runner, int64_t n) {
  int32_t token = 1;
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n; ++i) token = runner.argmax_next({&token, 1}, i);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

ModelBenchRow timed(const std::string& test, int64_t tokens, int repetitions, const std::function<double()>& run) {
  ModelBenchRow row;
  row.test = test;
  for (int r = 0; r < repetitions; ++r) row.tokens_per_second.push_back(static_cast<double>(tokens) / run());
  const auto n = static_cast<double>(row.tokens_per_second.size());
  row.mean = std::accumulate(row.tokens_per_second.begin(), row.tokens_per_second.end(), 0.0) / n;
  double var = 0;
  for (double v : row.tokens_per_second) var += (v - row.mean) * (v - row.mean);
  row.stddev = n > 1 ? std::sqrt(var / (n - 1)) : 0;
  return row;
}

}  // namespace

uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string quantization_summary(const nn::Model& model) {
  std::map<std::string, int> counts;
  for (const auto& [name, m] : nn::named_modules(static_cast<const nn::Module&>(*model.root))) {
    const nn::QuantState* q = m->quant();
    if (!q || !q->quantized()) continue;
    const std::string w = q->weights ? std::string(qtype_name(*q->weights)) : "float";
    const std::string a = q->activations ? "/" + std::string(qtype_name(*q->activations)) : "";
    ++counts[w + a];
  }
  std::string out = std::string(dtype_name(model.dtype));
  for (const auto& [k, n] : counts) out += ", " + std::to_string(n) + " × " + k;
  return counts.empty() ? out + ", not quantized" : out;
}

std::vector<ModelBenchRow> bench_model(nn::Model& model, const Device& device, const ModelBenchOptions& options) {
  if (!model.decoder) throw std::invalid_argument("bench --model needs a decoder (LlamaForCausalLM, ...)");
  if (options.repetitions < 1) throw std::invalid_argument("--repetitions must be >= 1");
  if (options.prompt_tokens < 0 || options.gen_tokens < 0) throw std::invalid_argument("-p and -n must be >= 0");
  DecoderRunner runner(model, device, std::max<int64_t>({options.prompt_tokens, options.gen_tokens, 1}));
  const std::string id = device.info().id();
  std::vector<ModelBenchRow> rows;
  auto say = [&](const std::string& s) {
    if (options.on_progress) options.on_progress(id + ": " + s);
  };
  if (options.prompt_tokens > 0) {
    const auto tokens = bench_tokens(options.prompt_tokens, model.decoder->vocab_size);
    say("pp" + std::to_string(options.prompt_tokens) + " warm-up");
    for (int i = 0; i < 2; ++i) prompt_run(runner, tokens);  // uploads, then records the plan
    say("pp" + std::to_string(options.prompt_tokens));
    rows.push_back(timed("pp" + std::to_string(options.prompt_tokens), options.prompt_tokens, options.repetitions,
                         [&] { return prompt_run(runner, tokens); }));
  }
  if (options.gen_tokens > 0) {
    say("tg" + std::to_string(options.gen_tokens) + " warm-up");
    generation_run(runner, std::min<int64_t>(options.gen_tokens, 4));
    say("tg" + std::to_string(options.gen_tokens));
    rows.push_back(timed("tg" + std::to_string(options.gen_tokens), options.gen_tokens, options.repetitions,
                         [&] { return generation_run(runner, options.gen_tokens); }));
  }
  const DeviceInfo& info = device.info();
  for (auto& r : rows) {
    r.device = id;
    r.device_name = info.description();
    r.memory = runner.memory();
  }
  return rows;
}

std::string model_bench_table(const ModelBenchReport& report) {
  std::string out = report.model + ": " + report.description + "\n\n| device | test | tokens/s | weights MiB | KV cache MiB | plan scratch MiB |\n|---|---|---:|---:|---:|---:|\n";
  char line[256];
  for (const auto& r : report.rows) {
    std::snprintf(line, sizeof line, "| %s | %s | %.2f ± %.2f | %.1f | %.1f | %.1f |\n", r.device.c_str(), r.test.c_str(), r.mean,
                  r.stddev, r.memory.weights / 1048576.0, r.memory.kv_cache / 1048576.0, r.memory.scratch / 1048576.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "\npeak host RSS: %.1f MiB\n", report.peak_rss_bytes / 1048576.0);
  return out + line;
}

std::string model_bench_json(const ModelBenchReport& report) {
  nlohmann::json j = {{"model", report.model}, {"description", report.description}, {"peak_rss_bytes", report.peak_rss_bytes},
                      {"results", nlohmann::json::array()}};
  for (const auto& r : report.rows) {
    j["results"].push_back({{"device", r.device}, {"device_name", r.device_name}, {"test", r.test}, {"tokens_per_second", r.tokens_per_second},
                            {"mean", r.mean}, {"stddev", r.stddev}, {"weight_bytes", r.memory.weights},
                            {"kv_cache_bytes", r.memory.kv_cache}, {"scratch_bytes", r.memory.scratch}});
  }
  return j.dump(2) + "\n";
}

}  // namespace pq::rt::model
