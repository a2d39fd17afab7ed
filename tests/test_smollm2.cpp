// SmolLM2-135M-Instruct, a trained model, against transformers + optimum-quanto
// (tests/fixtures/llm/smollm2_reference.json, written by tests/llm_reference.py): a short
// perplexity of float, W8 and W4 within 0.5% of the reference's, W8 within 1% of float, and a
// 16-token greedy generation identical to the reference's, on pocl and lavapipe.
// The model is not in the tree: $PORTAQUANT_SMOLLM2_MODELS names the directory that
// scripts/fetch-smollm2.sh fills (smollm2/, smollm2-w4/); without it the tests are skipped
// (.ci/run sets it).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "host/models/text_samples.h"
#include "host/nn/pretrained.h"
#include "runtime/model/generate.h"
#include "runtime/model/perplexity.h"
#include "runtime/model/quantize_workflow.h"
#include "tests/test_support.h"

namespace pq::rt::model {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> models_dir() {
  const char* dir = std::getenv("PORTAQUANT_SMOLLM2_MODELS");
  if (!dir || !*dir) return std::nullopt;
  return fs::path(dir);
}

nlohmann::json reference() {
  std::ifstream in(test::fixture("llm/smollm2_reference.json"));
  return nlohmann::json::parse(in);
}

std::vector<std::string> accelerator_devices() { return available_device_ids(false); }

// The CI-sized perplexity: one window of 256 tokens of GPL-3, its second half scored.
double short_perplexity(nn::Model& model, const std::string& device, const tok::Tokenizer& tokenizer) {
  const std::vector<int32_t> tokens = models::tokenize_file(tokenizer, "/usr/share/common-licenses/GPL-3", true);
  DecoderRunner runner(model, Device::open(device), 256);
  return perplexity(runner, tokens, {.ctx = 256, .max_windows = 1}).perplexity;
}

class SmolLM2 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!models_dir()) GTEST_SKIP() << "PORTAQUANT_SMOLLM2_MODELS is not set (scripts/fetch-smollm2.sh; .ci/run sets it)";
  }
};

TEST_F(SmolLM2, ShortPerplexityIsTransformersAndQuantos) {
  const nlohmann::json ref = reference().at("configurations");
  const fs::path dir = *models_dir();
  test::TempDir tmp;
  ModelQuantizeOptions w8;
  w8.quantize.weights = QType::QInt8;
  w8.quantize.exclude = {"lm_head"};
  quantize_model(dir / "smollm2", tmp / "w8", w8);
  const tok::Tokenizer tokenizer = models::model_tokenizer(dir / "smollm2");
  const struct {
    const char* config;
    fs::path path;
    const char* reference;
  } cases[] = {{"float", dir / "smollm2", "transformers"}, {"w8", tmp / "w8", "reloaded"}, {"w4", dir / "smollm2-w4", "reloaded"}};
  for (const std::string& device : accelerator_devices()) {
    std::map<std::string, double> ours;
    for (const auto& c : cases) {
      nn::Model model = nn::load_pretrained(c.path);
      const double expected = ref.at(c.config).at(c.reference).at("ctx256_first_window").at("perplexity").get<double>();
      ours[c.config] = short_perplexity(model, device, tokenizer);
      const double relative = std::fabs(ours[c.config] - expected) / expected;
      std::printf("  %-5s %-9s perplexity %.4f, reference %.4f (%.3f%%)\n", c.config, device.c_str(), ours[c.config], expected,
                  100 * relative);
      EXPECT_LE(relative, 0.005) << c.config << " on " << device;
    }
    EXPECT_LE(std::fabs(ours["w8"] - ours["float"]) / ours["float"], 0.01) << "W8 within 1% of float on " << device;
  }
}

TEST_F(SmolLM2, GreedyGenerationIsTheReferences) {
  const nlohmann::json ref = reference().at("configurations");
  const fs::path dir = *models_dir();
  for (const auto& [config, path] : {std::pair{"float", dir / "smollm2"}, std::pair{"w4", dir / "smollm2-w4"}}) {
    const nlohmann::json& g = ref.at(config).at("generation").at("short");
    const auto prompt = g.at("prompt_ids").get<std::vector<int32_t>>();
    const auto expected = g.at("ids").get<std::vector<int32_t>>();
    nn::Model model = nn::load_pretrained(path);
    for (const std::string& device : accelerator_devices()) {
      DecoderRunner runner(model, Device::open(device), 64);
      std::vector<int32_t> got;
      GenerationOptions options;
      options.max_new_tokens = static_cast<int64_t>(expected.size());
      generate(runner, prompt, options, [&](int32_t t) { got.push_back(t); });
      std::printf("  %-5s %-9s %zu tokens: %s\n", config, device.c_str(), got.size(), got == expected ? "identical" : "DIFFERENT");
      EXPECT_EQ(got, expected) << config << " on " << device;
    }
  }
}

}  // namespace
}  // namespace pq::rt::model
