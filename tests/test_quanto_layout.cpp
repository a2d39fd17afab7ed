// The state-dict layout and quanto_qmap.json of optimum-quanto, against model directories
// that quanto itself quantized, froze and saved (tests/fixtures/quanto_mlp_<qtype>).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "host/checkpoint.h"
#include "host/safetensors.h"
#include "host/quanto_qmap.h"
#include "host/quanto_state_dict.h"
#include "host/quantize_checkpoint.h"
#include "tests/test_support.h"

namespace pq {
namespace {

using ::testing::HasSubstr;

const char* const kQuantoModels[] = {"qint8", "qint4", "qint2", "qfloat8_e4m3fn"};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class QuantoModel : public ::testing::TestWithParam<const char*> {};

// Quantizing quanto's float model here gives every tensor quanto saved, bit for bit, under the
// same keys, plus nothing else but our metadata.
TEST_P(QuantoModel, OurQuantizationOfTheFloatModelEqualsQuantosFile) {
  test::TempDir tmp;
  const std::string qtype = GetParam();
  CheckpointQuantizeOptions options;
  options.weights = parse_qtype(qtype);
  options.include = {"*"};  // a bare checkpoint: the Linear modules are named
  quantize_checkpoint(test::fixture("float_mlp"), tmp / "out", options);

  const Checkpoint ours = Checkpoint::open(tmp / "out");
  const Checkpoint theirs = Checkpoint::open(test::fixture("quanto_mlp_" + qtype));
  EXPECT_EQ(ours.names(), theirs.names());
  for (const auto& name : theirs.names()) {
    if (ours.contains(name)) {
      EXPECT_TRUE(test::same_bits(ours.load(name), theirs.load(name))) << name;
    }
  }
  EXPECT_EQ(read_qmap(tmp / "out" / kQuantoQmapFileName), read_qmap(test::fixture("quanto_mlp_" + qtype) / kQuantoQmapFileName));
  EXPECT_EQ(read_text(tmp / "out" / kQuantoQmapFileName), read_text(test::fixture("quanto_mlp_" + qtype) / kQuantoQmapFileName));
}

// Reading quanto's file back with the architecture's shapes gives the quantized weight, and our
// metadata describes the file we wrote without any architecture.
TEST_P(QuantoModel, LoadsQuantosWeightsAndOurMetadataDescribesOurs) {
  test::TempDir tmp;
  const std::string qtype = GetParam();
  const QType q = parse_qtype(qtype);
  CheckpointQuantizeOptions options;
  options.weights = q;
  options.include = {"*"};
  quantize_checkpoint(test::fixture("float_mlp"), tmp / "out", options);
  const Checkpoint ours = Checkpoint::open(tmp / "out");
  const WeightRecords records = weight_records_from_metadata(ours.metadata(), "ours");
  ASSERT_EQ(records.size(), 3u);

  const Checkpoint theirs = Checkpoint::open(test::fixture("quanto_mlp_" + qtype));
  const Checkpoint floats = Checkpoint::open(test::fixture("float_mlp"));
  for (const auto& [module, record] : records) {
    EXPECT_EQ(record.shape, floats.info(module + ".weight").shape);
    const QuantizedWeight loaded = load_quantized_weight(theirs, module, q, record.shape, record.group_size);
    const QuantizedWeight fresh = quantize_weight(floats.load(module + ".weight"), q);
    EXPECT_TRUE(test::same_bits(loaded.data, fresh.data)) << module;
    EXPECT_EQ(quantized_weight_numel(theirs, module), shape_numel(record.shape));
  }
}

INSTANTIATE_TEST_SUITE_P(QuantoSaved, QuantoModel, ::testing::ValuesIn(kQuantoModels),
                         [](const auto& info) { return std::string(info.param); });

TEST(QuantoQmap, ParsesAliasesAndRejectsBadEntries) {
  const QuantizationMap qmap =
      parse_qmap(R"({"fc": {"weights": "qfloat8", "activations": "qint8"}, "x": {"weights": "none", "activations": "none"}})", "m.json");
  EXPECT_EQ(qmap.at("fc").weights, QType::QFloat8_E4M3FN);
  EXPECT_EQ(qmap.at("fc").activations, QType::QInt8);
  EXPECT_FALSE(qmap.at("x").weights.has_value());
  auto error = [](const std::string& text) {
    try {
      parse_qmap(text, "bad_qmap.json");
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_THAT(error("{"), HasSubstr("bad_qmap.json: malformed JSON"));
  EXPECT_THAT(error(R"({"fc": {"weights": "qint3", "activations": "none"}})"), HasSubstr("bad_qmap.json: fc.weights: unknown qtype 'qint3'"));
  EXPECT_THAT(error(R"({"fc": {"weights": "none", "activations": "qint4"}})"),
              HasSubstr("fc.activations: must be an 8-bit qtype, not qint4"));
  EXPECT_THAT(error(R"([1])"), HasSubstr("expected a JSON object"));
  // quanto's requantize reads both keys (a KeyError there); a dotted module name is quoted.
  EXPECT_THAT(error(R"({"model.fc": {"weights": "qint4"}})"), HasSubstr(R"(bad_qmap.json: ["model.fc"].activations: missing)"));
  EXPECT_THAT(error(R"({"fc": {"weights": 4, "activations": "none"}})"), HasSubstr("fc.weights: expected a string, got 4"));
  EXPECT_THAT(error(R"({"fc": "qint4"})"), HasSubstr(R"(bad_qmap.json: fc: expected a JSON object, got "qint4")"));
}

TEST(QuantoLayout, MissingOrMisshapenTensorsNameTheTensor) {
  const Checkpoint theirs = Checkpoint::open(test::fixture("quanto_mlp_qint4"));
  try {
    load_quantized_weight(theirs, "0", QType::QInt4, {129, 65}, std::nullopt);
    FAIL() << "no error";
  } catch (const FormatError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tensor '0.weight._data._data'"));
  }
  try {
    load_quantized_weight(theirs, "9", QType::QInt4, {129, 64}, std::nullopt);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_THAT(e.what(), HasSubstr("9.weight._scale"));
  }
}

// Without an architecture, a rank-2 weight may be an embedding table (never quantized by quanto):
// only --include decides, and a run without it is refused rather than guessed; rank-4 weights
// are Conv2d kernels and quantized.
TEST(QuantizeCheckpoint, BareRankTwoWeightsNeedIncludeAndConvKernelsDoNot) {
  test::TempDir tmp;
  CheckpointQuantizeOptions options;
  options.weights = QType::QInt8;
  try {
    quantize_checkpoint(test::fixture("float_mlp"), tmp / "out", options);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("3 rank-2 weight(s) (0.weight, 2.weight, 4.weight)"));
    EXPECT_THAT(e.what(), HasSubstr("--include"));
  }
  EXPECT_FALSE(std::filesystem::exists(tmp / "out"));
  save_safetensors(tmp / "conv.safetensors", {{"conv.weight", Tensor::from_floats(DType::F32, {2, 1, 3, 3}, std::vector<float>(18, 0.5f))},
                                              {"conv.bias", Tensor::from_floats(DType::F32, {2}, {0.0f, 1.0f})}});
  const QuantizeSummary summary = quantize_checkpoint(tmp / "conv.safetensors", tmp / "conv_q", options);
  EXPECT_EQ(summary.quantized, (std::vector<std::string>{"conv"}));
}

TEST(QuantizeCheckpoint, IncludeExcludeFollowFnmatchAndOutputIsAtomic) {
  test::TempDir tmp;
  CheckpointQuantizeOptions options;
  options.weights = QType::QInt8;
  options.include = {"*"};
  options.exclude = {"4"};
  const QuantizeSummary summary = quantize_checkpoint(test::fixture("float_mlp"), tmp / "out", options);
  EXPECT_EQ(summary.quantized, (std::vector<std::string>{"0", "2"}));
  EXPECT_TRUE(Checkpoint::open(tmp / "out").contains("4.weight"));
  // An existing output is refused, and a failing run leaves no directory behind.
  EXPECT_THROW(quantize_checkpoint(test::fixture("float_mlp"), tmp / "out", options), std::invalid_argument);
  options.include = {"nothing*"};
  EXPECT_THROW(quantize_checkpoint(test::fixture("float_mlp"), tmp / "out2", options), std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(tmp / "out2"));
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 1u) << "no staging directory may be left behind";
}

}  // namespace
}  // namespace pq
