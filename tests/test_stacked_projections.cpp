// Stacked projections (q/k/v as one linear + rope_kv_write, gate/up as one linear + swiglu,
// o_proj and down_proj fused with the add_rmsnorm after them) are a launch-count optimisation only: on every device, every decoder fixture gives the same logit
// bits with them as with each module run on its own, for a whole sequence and token by token
// through the KV cache (the replayed decode plan). The unstacked path is the one the fixture
// tests hold to transformers and optimum-quanto.
#include <gtest/gtest.h>

#include "host/nn/pretrained.h"
#include "runtime/model/decoder_runner.h"
#include "tests/test_support.h"
#include "tests/transformer_fixtures.h"

namespace pq::rt::model {
namespace {

std::vector<std::string> decoder_dirs() {
  std::vector<std::string> out;
  for (const auto& d : test::transformer_fixture_dirs()) {
    if (!d.starts_with("bert") && !d.starts_with("linear_")) out.push_back(d);
  }
  return out;
}

// Logits of the whole sequence, then of each token fed alone through the cache.
std::vector<Tensor> logits(nn::Model& model, const std::string& device, const std::vector<int32_t>& sequence, bool stacked) {
  DecoderOptions options;
  options.stack_projections = stacked;
  DecoderRunner whole(model, Device::open(device), 64, options), steps(model, Device::open(device), 64, options);
  std::vector<int32_t> rows(sequence.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int32_t>(i);
  std::vector<Tensor> out{whole.logits(sequence, 0, rows)};
  for (size_t i = 0; i < sequence.size(); ++i) {
    const int32_t row = 0;
    out.push_back(steps.logits({&sequence[i], 1}, static_cast<int64_t>(i), {&row, 1}));
  }
  return out;
}

class StackedProjections : public ::testing::TestWithParam<std::string> {};

TEST_P(StackedProjections, GiveTheLogitBitsOfTheModulesOneByOne) {
  nn::Model model = nn::load_pretrained(test::transformer_fixtures() / GetParam());
  const std::vector<int32_t> sequence = test::fixture_sequences(GetParam()).back();
  for (const std::string& device : available_device_ids(true)) {
    const std::vector<Tensor> stacked = logits(model, device, sequence, true);
    const std::vector<Tensor> separate = logits(model, device, sequence, false);
    for (size_t i = 0; i < stacked.size(); ++i) {
      EXPECT_TRUE(test::same_bits(stacked[i], separate[i]))
          << GetParam() << " on " << device << (i == 0 ? ": whole sequence" : ": decode step " + std::to_string(i - 1));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Transformers, StackedProjections, ::testing::ValuesIn(decoder_dirs()), test::fixture_test_name);

}  // namespace
}  // namespace pq::rt::model
