// End-to-end model benchmark in the spirit of llama-bench: prompt processing (one block of
// `prompt_tokens` from an empty cache) and text generation (`gen_tokens` single-token steps
// from an empty cache), each repeated and reported as tokens/s ± standard deviation, with the
// model's device memory and the process's peak host RSS.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "host/nn/pretrained.h"
#include "runtime/device.h"
#include "runtime/model/device_memory.h"

namespace pq::rt::model {

struct ModelBenchOptions {
  int64_t prompt_tokens = 512;  // 0: no prompt test
  int64_t gen_tokens = 128;     // 0: no generation test
  int repetitions = 5;
  std::function<void(const std::string&)> on_progress;
};

struct ModelBenchRow {
  std::string device;          // "opencl:0"
  std::string device_name;     // DeviceInfo::description(): name, API version, driver, kernel tiers
  std::string test;            // "pp512", "tg128"
  std::vector<double> tokens_per_second;  // one per repetition
  double mean = 0, stddev = 0;
  DeviceMemory memory;
};

struct ModelBenchReport {
  std::string model;           // path
  std::string description;     // architecture line, dtype, quantization
  std::vector<ModelBenchRow> rows;
  uint64_t peak_rss_bytes = 0;
};

std::vector<ModelBenchRow> bench_model(nn::Model& model, const Device& device, const ModelBenchOptions& options);
// "qint4 ×210, float ..." for the report.
std::string quantization_summary(const nn::Model& model);
uint64_t peak_rss_bytes();

std::string model_bench_table(const ModelBenchReport& report);
std::string model_bench_json(const ModelBenchReport& report);

}  // namespace pq::rt::model
