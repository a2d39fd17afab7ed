// Quantizing the float transformer fixtures here gives optimum-quanto's files: every tensor of
// quanto's directory, bit for bit (weights, scales, shifts, biases, norms, embeddings), and the
// same quanto_qmap.json; calibration follows quanto's per-step arithmetic exactly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "host/checkpoint.h"
#include "host/json_fields.h"
#include "host/nn/calibration.h"
#include "host/quanto_qmap.h"
#include "host/quanto_state_dict.h"
#include "host/safetensors.h"
#include "runtime/model/quantize_workflow.h"
#include "tests/test_support.h"
#include "tests/transformer_fixtures.h"

namespace pq::rt::model {
namespace {

std::vector<std::string> quantized_dirs() {
  std::vector<std::string> out;
  for (const auto& d : test::transformer_fixture_dirs()) {
    if (!d.ends_with("/float")) out.push_back(d);
  }
  return out;
}

std::optional<QType> qtype_of(const nlohmann::json& fixture, const char* key) {
  const auto& v = fixture.at(key);
  if (v.is_null() || v.get<std::string>() == "none") return std::nullopt;
  return parse_qtype(v.get<std::string>());
}

std::vector<std::vector<int32_t>> calibration_ids(const std::filesystem::path& dir) {
  const Tensor ids = SafetensorsFile::open(dir / "calibration.safetensors").load("calibration_ids");
  const std::vector<float> v = ids.to_float_vector();
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(ids.size(0)));
  for (int64_t i = 0; i < ids.size(0); ++i) {
    for (int64_t j = 0; j < ids.size(1); ++j) out[static_cast<size_t>(i)].push_back(static_cast<int32_t>(v[static_cast<size_t>(i * ids.size(1) + j)]));
  }
  return out;
}

bool is_activation_scale(const std::string& name) { return name.ends_with(".input_scale") || name.ends_with(".output_scale"); }

class QuantizeLikeQuanto : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizeLikeQuanto, OurFilesAreQuantosFiles) {
  const std::filesystem::path theirs_dir = test::transformer_fixtures() / GetParam();
  const nlohmann::json fixture = test::fixture_json(GetParam());
  ModelQuantizeOptions options;
  options.quantize.weights = qtype_of(fixture, "weights");
  options.quantize.activations = qtype_of(fixture, "activations");
  if (fixture.contains("exclude") && fixture.at("exclude").is_string()) options.quantize.exclude = {fixture.at("exclude").get<std::string>()};
  if (options.quantize.activations) options.calibration.token_samples = calibration_ids(theirs_dir);
  test::TempDir tmp;
  quantize_model(theirs_dir.parent_path() / "float", tmp / "ours", options);

  const Checkpoint ours = Checkpoint::open(tmp / "ours"), theirs = Checkpoint::open(theirs_dir);
  EXPECT_EQ(ours.names(), theirs.names());
  size_t identical = 0, scales = 0, scales_identical = 0;
  double worst_scale = 0;
  for (const auto& name : theirs.names()) {
    if (!ours.contains(name)) continue;
    const Tensor a = ours.load(name), b = theirs.load(name);
    if (options.quantize.activations && is_activation_scale(name)) {
      // Calibrated scales come from our forward, whose float sums run in another order than
      // torch's: the first module's scales are exact, later ones within a few ulps.
      ++scales;
      const double x = a.to_float_vector()[0], y = b.to_float_vector()[0];
      scales_identical += x == y;
      worst_scale = std::max(worst_scale, std::fabs(x - y) / std::fabs(y));
      EXPECT_EQ(a.dtype(), b.dtype()) << name;
      continue;
    }
    const auto same = test::same_bits(a, b);
    identical += static_cast<bool>(same);
    EXPECT_TRUE(same) << name;
  }
  std::printf("  %-28s %zu/%zu tensors bit-identical", GetParam().c_str(), identical, theirs.names().size() - scales);
  if (scales) std::printf("; activation scales: %zu/%zu identical, worst relative difference %.2e", scales_identical, scales, worst_scale);
  std::printf("\n");
  // float32: within a few ulps. float16/bfloat16: a 16-bit rounding difference in an activation
  // can flip an int8 code upstream in calibration's step 0, which moves a later absmax by about
  // a code (1/127) plus the dtype's own rounding of the scale: 2% in float16, 5% in bfloat16
  // (whose ulp is 0.4-0.8%).
  const std::string dtype = fixture.at("dtype");
  if (scales) {
    EXPECT_LE(worst_scale, dtype == "float32" ? 1e-4 : dtype == "float16" ? 2e-2 : 5e-2);
  }
  EXPECT_EQ(read_qmap(tmp / "ours" / kQuantoQmapFileName), read_qmap(theirs_dir / kQuantoQmapFileName));
  const nlohmann::json our_config = read_json_file((tmp / "ours" / "config.json").string());
  const nlohmann::json their_config = read_json_file((theirs_dir / "config.json").string());
  EXPECT_EQ(our_config.value("tie_word_embeddings", false), their_config.value("tie_word_embeddings", false));
}

INSTANTIATE_TEST_SUITE_P(Transformers, QuantizeLikeQuanto, ::testing::ValuesIn(quantized_dirs()),
                         test::fixture_test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(QuantizeLikeQuanto);

// Given the scales quanto observed at each calibration step (its absmax_scale results), our EMA
// gives quanto's scale after every step, bit for bit, in float32, float16 and bfloat16.
TEST(CalibrationArithmetic, ReplaysQuantosTraceStepByStep) {
  size_t checked = 0;
  for (const auto& dir : quantized_dirs()) {
    const auto path = test::transformer_fixtures() / dir / "calibration.safetensors";
    if (!std::filesystem::exists(path)) continue;
    const SafetensorsFile trace = SafetensorsFile::open(path);
    for (const auto& info : trace.tensors()) {
      for (const std::string side : {"input", "output"}) {
        const std::string suffix = "." + side + "_scale";
        if (!info.name.ends_with(suffix)) continue;
        const std::string module = info.name.substr(0, info.name.size() - suffix.size());
        const Tensor scales = trace.load(info.name);
        const std::vector<float> after = scales.to_float_vector();
        const std::vector<float> observed = trace.load(module + "." + side + "_observed").to_float_vector();
        float s = 1.0f;
        for (size_t k = 0; k < after.size(); ++k) {
          if (std::isnan(observed[k])) {  // the input arrived quantized: quanto adopted its scale
            s = after[k];
            continue;
          }
          s = nn::updated_scale(s, observed[k], 0.9, scales.dtype());
          EXPECT_EQ(s, after[k]) << dir << " " << module << " " << side << " step " << k;
          ++checked;
        }
      }
    }
  }
  std::printf("  %zu calibration steps replayed\n", checked);
  EXPECT_GT(checked, 100u);
}

}  // namespace
}  // namespace pq::rt::model

namespace pq {
namespace {

// The small Linear cases of the fixtures: quanto's Linear(n, 1) in every qtype and dtype, and
// a bfloat16 qint4 weight with G = 128 that quanto saves through its TinyGemm layout.
TEST(QuantoSmallLinears, OurQuantizationIsQuantosStateDict) {
  std::vector<std::filesystem::path> dirs{test::transformer_fixtures() / "linear_tinygemm"};
  for (const auto& e : std::filesystem::directory_iterator(test::transformer_fixtures() / "linear_n1")) dirs.push_back(e.path());
  size_t checked = 0;
  for (const auto& dir : dirs) {
    const QuantizationMap qmap = read_qmap(dir / kQuantoQmapFileName);
    const Tensor weight = SafetensorsFile::open(dir / "reference.safetensors").load("weight");
    const Checkpoint theirs = Checkpoint::open(dir / "model.safetensors");
    const QuantizedWeight ours = quantize_weight(weight, *qmap.at("0").weights);
    NamedTensors tensors;
    append_quantized_weight(tensors, "0", ours);
    for (const auto& [name, t] : tensors) {
      EXPECT_TRUE(test::same_bits(t, theirs.load(name))) << dir.filename() << " " << name;
      ++checked;
    }
  }
  EXPECT_GE(checked, 40u);
}

}  // namespace
}  // namespace pq
