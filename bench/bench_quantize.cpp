// Weight quantization throughput (M params/s) for every qtype and optimizer, on one thread and
// on all of them. Run: build/bench/bench_quantize  (see README "Quantization speed").
#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <random>
#include <thread>

#include "host/parallel.h"
#include "host/quant/quantized_weight.h"

namespace {

using pq::DType;
using pq::Optimizer;
using pq::QType;

constexpr int64_t kRows = 2048;
constexpr int64_t kCols = 2048;

const pq::Tensor& weight(DType dtype) {
  static std::map<DType, pq::Tensor> cache;
  auto it = cache.find(dtype);
  if (it != cache.end()) return it->second;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> values(static_cast<size_t>(kRows * kCols));
  for (auto& v : values) v = normal(rng);
  return cache.emplace(dtype, pq::Tensor::from_floats(dtype, {kRows, kCols}, values)).first->second;
}

void quantize(benchmark::State& state, QType qtype, Optimizer optimizer, DType dtype) {
  pq::set_num_threads(static_cast<int>(state.range(0)));
  const pq::Tensor& w = weight(dtype);
  for (auto _ : state) {
    pq::QuantizedWeight q = pq::quantize_weight(w, qtype, {.optimizer = optimizer});
    benchmark::DoNotOptimize(q.data.raw_data());
  }
  state.counters["Mparams/s"] =
      benchmark::Counter(static_cast<double>(kRows * kCols) * static_cast<double>(state.iterations()) / 1e6,
                         benchmark::Counter::kIsRate);
  state.counters["threads"] = static_cast<double>(pq::num_threads());
  pq::set_num_threads(0);
}

void register_all() {
  const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  struct Case {
    QType qtype;
    Optimizer optimizer;
  };
  const Case cases[] = {{QType::QInt8, Optimizer::Absmax},          {QType::QFloat8_E4M3FN, Optimizer::Absmax},
                        {QType::QFloat8_E4M3FNUZ, Optimizer::Absmax}, {QType::QFloat8_E5M2, Optimizer::Absmax},
                        {QType::QInt4, Optimizer::Max},             {QType::QInt4, Optimizer::Hqq},
                        {QType::QInt2, Optimizer::Max},             {QType::QInt2, Optimizer::Hqq}};
  for (DType dtype : {DType::F32, DType::BF16}) {
    for (const Case& c : cases) {
      const std::string name = std::string(pq::qtype_name(c.qtype)) + "/" + std::string(pq::optimizer_name(c.optimizer)) +
                               "/" + std::string(pq::dtype_name(dtype));
      auto* b = benchmark::RegisterBenchmark(name.c_str(), [c, dtype](benchmark::State& s) { quantize(s, c.qtype, c.optimizer, dtype); });
      b->ArgName("threads")->Arg(1);
      if (all > 1) b->Arg(all);
      b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
