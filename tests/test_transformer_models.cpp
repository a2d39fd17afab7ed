// Hugging Face transformer models (random-init Llama, Llama with tied embeddings, Mistral,
// Qwen2, BERT; float32, float16, bfloat16; float and quantized by optimum-quanto 0.2.7) from
// tests/fixtures/transformers load here and give transformers' / quanto's outputs on every
// device: logits of each test sequence, BERT hidden states and sentence embeddings.
#include <gtest/gtest.h>

#include <cstdio>

#include "host/nn/pretrained.h"
#include "host/safetensors.h"
#include "runtime/model/decoder_runner.h"
#include "runtime/model/encoder_runner.h"
#include "tests/transformer_fixtures.h"

namespace pq::rt::model {
namespace {

using test::Similarity;

class TransformerFixture : public ::testing::TestWithParam<std::string> {
 protected:
  std::filesystem::path dir() const { return test::transformer_fixtures() / GetParam(); }
  bool is_float() const { return GetParam().ends_with("/float"); }
};

// Float models against transformers: NMSE (1e-7 on the CPU reference, 1e-6 on devices for
// float32); everything else against quanto's tolerance on the cosine; and the same argmax at
// >= 99% of the positions whose reference is not a tie at the dtype's resolution (hidden
// states have no argmax to compare: their tie fraction 1 skips it).
void expect_close(const std::string& what, const std::string& device, DType dtype, bool float_model, const Similarity& s) {
  std::printf("  %-32s %-9s nmse %.2e  1-cos %.2e  argmax %.1f%% (of %.0f%% of positions)\n", what.c_str(), device.c_str(), s.nmse,
              1 - s.cosine, 100 * s.argmax_agreement, 100 * s.decidable);
  if (float_model && dtype == DType::F32) {
    EXPECT_LE(s.nmse, device == "cpu" ? 1e-7 : 1e-6) << what << " on " << device;
  } else {
    EXPECT_LE(1 - s.cosine, test::quanto_cosine_tolerance(dtype)) << what << " on " << device;
  }
  EXPECT_GE(s.argmax_agreement, 0.99) << what << " on " << device;
}

// With quantized activations, a 16-bit rounding difference upstream can move an activation
// across a code boundary: one int8 code changes a logit by about 1%, so a reference whose top
// two logits are closer than 3% is a tie there.
double tie_fraction(const nn::Model& model) {
  bool activations = false;
  for (const auto& [name, m] : nn::named_modules(static_cast<const nn::Module&>(*model.root))) {
    activations = activations || (m->quant() && m->quant()->activations);
  }
  return activations && model.dtype != DType::F32 ? 1.0 / 32 : test::tie_fraction(model.dtype);
}

TEST_P(TransformerFixture, OutputsMatchTheReferenceOnEveryDevice) {
  nn::Model model = nn::load_pretrained(dir());
  EXPECT_TRUE(model.warnings.empty()) << model.warnings.front();
  const SafetensorsFile outputs = SafetensorsFile::open(dir() / "outputs.safetensors");
  for (const std::string& device : available_device_ids(true)) {
    if (model.decoder) {
      const auto sequences = test::fixture_sequences(GetParam());
      DecoderRunner runner(model, Device::open(device), 64);
      for (size_t i = 0; i < sequences.size(); ++i) {
        std::vector<int32_t> rows(sequences[i].size());
        for (size_t r = 0; r < rows.size(); ++r) rows[r] = static_cast<int32_t>(r);
        const Tensor logits = runner.logits(sequences[i], 0, rows);
        const std::vector<float> expected = outputs.load("logits_" + std::to_string(i)).to_float_vector();
        expect_close(GetParam() + " seq " + std::to_string(i), device, model.dtype, is_float(),
                     test::similarity(logits.to_float_vector(), expected, model.decoder->vocab_size, tie_fraction(model)));
      }
    } else {
      const auto sequences = test::fixture_sequences(GetParam());
      EncoderRunner runner(model, Device::open(device));
      const Tensor hidden = runner.last_hidden_state(sequences);
      const int64_t dim = model.encoder->hidden_size;
      // Padded positions are not compared: transformers computes them with a masked softmax too,
      // but nobody reads them.
      const std::vector<float> all = outputs.load("last_hidden_state").to_float_vector(), got = hidden.to_float_vector();
      std::vector<float> ours, reference;
      for (size_t b = 0; b < sequences.size(); ++b) {
        for (size_t s = 0; s < sequences[b].size(); ++s) {
          const size_t at = (b * static_cast<size_t>(hidden.size(1)) + s) * static_cast<size_t>(dim);
          ours.insert(ours.end(), got.begin() + static_cast<int64_t>(at), got.begin() + static_cast<int64_t>(at) + dim);
          reference.insert(reference.end(), all.begin() + static_cast<int64_t>(at), all.begin() + static_cast<int64_t>(at) + dim);
        }
      }
      expect_close(GetParam() + " hidden", device, model.dtype, is_float(), test::similarity(ours, reference, dim, 1.0));
      std::vector<int64_t> lengths;
      for (const auto& s : sequences) lengths.push_back(static_cast<int64_t>(s.size()));
      expect_close(GetParam() + " embedding", device, model.dtype, is_float(),
                   test::similarity(mean_pool_normalize(hidden, lengths).to_float_vector(),
                                    outputs.load("sentence_embedding").to_float_vector(), dim, 1.0));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Transformers, TransformerFixture, ::testing::ValuesIn(test::transformer_fixture_dirs()),
                         test::fixture_test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TransformerFixture);

}  // namespace
}  // namespace pq::rt::model
