// The module tree: config parsing, weight checks, quantize/freeze, save/load round trips.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "host/errors.h"
#include "host/nn/calibration.h"
#include "host/nn/config.h"
#include "host/nn/layers.h"
#include "host/nn/pretrained.h"
#include "host/nn/quantize.h"

namespace pq::nn {
namespace {

namespace fs = std::filesystem;
const fs::path kMlp = fs::path(PORTAQUANT_SOURCE_DIR) / "examples/models/digits_mlp";
const fs::path kCnn = fs::path(PORTAQUANT_SOURCE_DIR) / "examples/models/digits_cnn";

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("pq_test_nn_" + name);
  fs::remove_all(dir);
  return dir;
}

// A copy of the MLP directory whose config.json is replaced by `config`.
fs::path mlp_with_config(const std::string& name, const nlohmann::json& config) {
  const fs::path dir = fresh_dir(name);
  fs::create_directories(dir);
  fs::copy_file(kMlp / "model.safetensors", dir / "model.safetensors");
  std::ofstream(dir / "config.json") << config.dump();
  return dir;
}

nlohmann::json mlp_config() {
  std::ifstream in(kMlp / "config.json");
  return nlohmann::json::parse(in);
}

std::string error_of(const fs::path& dir) {
  try {
    load_pretrained(dir);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(NnConfig, BuildsNamedSequentialTree) {
  const Model model = load_pretrained(kMlp);
  const auto modules = named_modules(static_cast<const Module&>(*model.root));
  ASSERT_EQ(modules.size(), 7u);
  EXPECT_EQ(modules[0].first, "");
  EXPECT_EQ(modules[2].first, "1");
  EXPECT_EQ(modules[2].second->type(), "Linear");
  EXPECT_EQ(model.input_shape(), (Shape{1, 8, 8}));
}

TEST(NnConfig, UnknownLayerTypeNamesTheLayer) {
  nlohmann::json config = mlp_config();
  config["layers"][2]["type"] = "Tanh";
  const std::string e = error_of(mlp_with_config("unknown", config));
  EXPECT_NE(e.find("config.json: layers[2].type: unknown layer type 'Tanh'"), std::string::npos) << e;
}

TEST(NnConfig, ShapeMismatchNamesModuleTensorAndBothShapes) {
  nlohmann::json config = mlp_config();
  config["layers"][3]["in_features"] = 200;
  const std::string e = error_of(mlp_with_config("mismatch", config));
  EXPECT_NE(e.find("module '3' (Linear)"), std::string::npos) << e;
  EXPECT_NE(e.find("'3.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find("[128, 256]"), std::string::npos) << e;
  EXPECT_NE(e.find("[128, 200]"), std::string::npos) << e;
}

TEST(NnConfig, MissingTensorIsNamed) {
  nlohmann::json config = mlp_config();
  config["layers"].push_back({{"type", "Linear"}, {"in_features", 10}, {"out_features", 3}});
  const std::string e = error_of(mlp_with_config("missing", config));
  EXPECT_NE(e.find("missing tensor '6.weight'"), std::string::npos) << e;
}

TEST(NnQuantize, PatternsSelectAsQuantoDoes) {
  Model model = load_pretrained(kMlp);
  const auto names = quantize(*model.root, {.weights = QType::QInt4, .exclude = {"5"}});
  EXPECT_EQ(names, (std::vector<std::string>{"1", "3"}));
  const QuantizationMap qmap = quantization_map(*model.root);
  EXPECT_EQ(qmap.size(), 2u);
  EXPECT_EQ(qmap.at("1").weights, QType::QInt4);
}

TEST(NnQuantize, LayerNormOnlyTakesActivations) {
  LayerNorm norm;
  EXPECT_FALSE(quantize_module(norm, {.weights = QType::QInt8}));
  EXPECT_TRUE(quantize_module(norm, {.weights = QType::QInt8, .activations = QType::QInt8}));
  EXPECT_FALSE(norm.quant_state.weights.has_value());
}

TEST(NnPretrained, FrozenSaveLoadRoundTripIsBitExact) {
  for (QType qtype : {QType::QInt8, QType::QInt4, QType::QInt2, QType::QFloat8_E4M3FN}) {
    Model model = load_pretrained(kCnn);
    quantize(*model.root, {.weights = qtype});
    freeze(*model.root);
    const fs::path dir = fresh_dir("roundtrip");
    save_pretrained(model, dir, {.max_shard_bytes = 1024});  // forces shards + index
    EXPECT_TRUE(fs::exists(dir / "model.safetensors.index.json"));
    const Model loaded = load_pretrained(dir);
    for (const auto& [name, module] : named_modules(static_cast<const Module&>(*model.root))) {
      const QuantState* q = module->quant();
      if (!q || !q->frozen) continue;
      const QuantizedWeight& a = *q->frozen;
      const Module* other = nullptr;
      for (const auto& [n2, m2] : named_modules(static_cast<const Module&>(*loaded.root))) {
        if (n2 == name) other = m2;
      }
      ASSERT_TRUE(other && other->quant()->frozen) << name;
      const QuantizedWeight& b = *other->quant()->frozen;
      EXPECT_TRUE(a.serialized_data().equal(b.serialized_data())) << name << " " << qtype_name(qtype);
      EXPECT_TRUE(a.scale.equal(b.scale)) << name;
      EXPECT_EQ(a.group_size, b.group_size) << name;
    }
  }
}

TEST(NnPretrained, ExistingOutputNeedsOverwrite) {
  Model model = load_pretrained(kMlp);
  const fs::path dir = fresh_dir("exists");
  save_pretrained(model, dir);
  EXPECT_THROW(save_pretrained(model, dir), std::invalid_argument);
  save_pretrained(model, dir, {.overwrite = true});
}

TEST(NnCalibration, EmaAndSentinel) {
  EXPECT_EQ(updated_scale(1.0f, 0.5f, 0.9f), 0.5f);
  EXPECT_FLOAT_EQ(updated_scale(0.5f, 0.25f, 0.9f), 0.9f * 0.5f + 0.1f * 0.25f);
  EXPECT_FLOAT_EQ(absmax_activation_scale({-254.0f, 3.0f}, QType::QInt8), 2.0f);
  Model model = load_pretrained(kMlp);
  quantize(*model.root, {.weights = QType::QInt8, .activations = QType::QInt8});
  const auto warnings = calibration_warnings(*model.root);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_EQ(warnings[0], "activations of 1 were never calibrated: scales are still 1.0");
}

}  // namespace
}  // namespace pq::nn
