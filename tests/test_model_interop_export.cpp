// The other direction of interop: a digits model quantized, frozen and saved here holds the same
// quantized tensors, under the same keys, as the one optimum-quanto saved for that config
// (tests/fixtures/interop), so quanto's requantize() rebuilds exactly our weights
// (tests/check_quanto_loads.py runs that check in Python).
#include <gtest/gtest.h>

#include <filesystem>

#include "host/nn/pretrained.h"
#include "host/nn/quantize.h"
#include "tests/test_support.h"

namespace pq {
namespace {

namespace fs = std::filesystem;

struct ExportCase {
  const char* model;
  QType weights;
};

const ExportCase kCases[] = {{"mlp", QType::QInt8}, {"mlp", QType::QInt4}, {"mlp", QType::QFloat8_E4M3FN},
                             {"cnn", QType::QInt8}, {"cnn", QType::QInt4}, {"cnn", QType::QFloat8_E4M3FN}};

class ModelExport : public ::testing::TestWithParam<ExportCase> {};

TEST_P(ModelExport, WeightOnlyModelSavedHereEqualsQuantosFile) {
  const ExportCase c = GetParam();
  const fs::path source = fs::path(PORTAQUANT_SOURCE_DIR) / "examples/models" / (std::string("digits_") + c.model);
  const fs::path reference = test::fixture("interop/digits_" + std::string(c.model) + "_w" + std::string(qtype_name(c.weights)) + "_anone");
  test::TempDir tmp;
  nn::Model model = nn::load_pretrained(source);
  nn::quantize(*model.root, {.weights = c.weights});
  nn::freeze(*model.root);
  nn::save_pretrained(model, tmp / "ours");

  const Checkpoint ours = Checkpoint::open(tmp / "ours");
  const Checkpoint theirs = Checkpoint::open(reference);
  EXPECT_EQ(ours.names(), theirs.names());
  for (const auto& name : theirs.names()) {
    if (!ours.contains(name)) continue;
    EXPECT_TRUE(test::same_bits(ours.load(name), theirs.load(name))) << name;
  }
  EXPECT_EQ(read_qmap(tmp / "ours" / kQuantoQmapFileName), read_qmap(reference / kQuantoQmapFileName));
}

INSTANTIATE_TEST_SUITE_P(Digits, ModelExport, ::testing::ValuesIn(kCases), [](const auto& info) {
  return std::string(info.param.model) + "_" + std::string(qtype_name(info.param.weights));
});

}  // namespace
}  // namespace pq
