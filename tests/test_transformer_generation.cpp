// Greedy generation and the KV cache on the transformer fixtures: 32 tokens identical to
// transformers' generate (float models) and quanto's (w8, w4) on every device, and decoding
// token by token through the cache equal to running the whole sequence at once.
#include <gtest/gtest.h>

#include <algorithm>

#include "host/nn/pretrained.h"
#include "host/safetensors.h"
#include "runtime/model/generate.h"
#include "tests/transformer_fixtures.h"

namespace pq::rt::model {
namespace {

// A step whose best two reference scores are closer than this may legitimately go either way
// for an implementation with another order of accumulation (about the dtype's resolution on
// logits of this size); tokens are compared up to the first such step.
double tie_margin(DType dtype) { return dtype == DType::F16 ? 2e-2 : dtype == DType::BF16 ? 1.3e-1 : 1e-4; }

std::vector<std::string> generation_dirs() {
  std::vector<std::string> out;
  for (const auto& d : test::transformer_fixture_dirs()) {
    if (d.ends_with("/float") || d.ends_with("/w8") || d.ends_with("/w4")) {
      if (!d.starts_with("bert")) out.push_back(d);
    }
  }
  return out;
}

class Generation : public ::testing::TestWithParam<std::string> {};

TEST_P(Generation, GreedyTokensAreTheReferencesOnEveryDevice) {
  const auto dir = test::transformer_fixtures() / GetParam();
  const nlohmann::json generation = test::fixture_json(GetParam()).at("generation");
  nn::Model model = nn::load_pretrained(dir);
  for (const std::string& device : available_device_ids(true)) {
    DecoderRunner runner(model, Device::open(device), 64);
    for (const auto& g : generation) {
      const auto prompt = g.at("prompt_ids").get<std::vector<int32_t>>();
      const auto expected = g.at("generated_ids").get<std::vector<int32_t>>();
      const auto margins = g.at("top1_top2_margins").get<std::vector<double>>();
      size_t comparable = 0;
      while (comparable < expected.size() && margins[comparable] > tie_margin(model.dtype)) ++comparable;
      std::vector<int32_t> got;
      GenerationOptions options;
      options.max_new_tokens = static_cast<int64_t>(expected.size());
      generate(runner, prompt, options, [&](int32_t t) { got.push_back(t); });
      const size_t same_prefix = static_cast<size_t>(std::mismatch(expected.begin(), expected.end(), got.begin()).first - expected.begin());
      std::printf("  %-28s %-9s identical for %zu/%zu tokens (the first %zu have no near-tie in the reference)\n", GetParam().c_str(),
                  device.c_str(), same_prefix, expected.size(), comparable);
      EXPECT_TRUE(std::equal(expected.begin(), expected.begin() + static_cast<int64_t>(comparable), got.begin()))
          << GetParam() << " on " << device;
      if (model.dtype == DType::F32) {
        EXPECT_EQ(comparable, expected.size()) << "a float32 reference without near-ties";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Transformers, Generation, ::testing::ValuesIn(generation_dirs()),
                         test::fixture_test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Generation);

// One token at a time through the KV cache (a replayed plan per step on devices) gives the
// logits of the whole sequence run as one block.
TEST(KvCache, TokenByTokenDecodingEqualsTheFullSequence) {
  for (const char* dir : {"llama/float32/float", "qwen2/float32/w4", "llama_tied/float32/w8a8", "mistral/float32/float"}) {
    nn::Model model = nn::load_pretrained(test::transformer_fixtures() / dir);
    const std::vector<int32_t> sequence = test::fixture_sequences(dir).back();
    for (const std::string& device : available_device_ids(true)) {
      DecoderRunner full(model, Device::open(device), 64), steps(model, Device::open(device), 64);
      std::vector<int32_t> rows(sequence.size());
      for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int32_t>(i);
      const std::vector<float> whole = full.logits(sequence, 0, rows).to_float_vector();
      std::vector<float> stepped;
      for (size_t i = 0; i < sequence.size(); ++i) {
        const int32_t row = 0;
        const std::vector<float> one = steps.logits({&sequence[i], 1}, static_cast<int64_t>(i), {&row, 1}).to_float_vector();
        stepped.insert(stepped.end(), one.begin(), one.end());
      }
      const double nmse = test::similarity(stepped, whole, model.decoder->vocab_size).nmse;
      std::printf("  %-28s %-9s token by token vs whole sequence: nmse %.2e\n", dir, device.c_str(), nmse);
      EXPECT_LE(nmse, device == "cpu" ? 1e-9 : 1e-7) << dir << " on " << device;
    }
  }
}

}  // namespace
}  // namespace pq::rt::model
