// Hostile or careless model directories: every value read from config.json, quanto_qmap.json and
// our __metadata__ is checked before it is used, and the error names the file and the key path.
// Each case here once crashed (SIGFPE, a heap overflow, a 1 TiB allocation), was silently taken
// as something else (8.5 as 8), or surfaced nlohmann's message naming neither file nor key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>

#include <nlohmann/json.hpp>

#include "host/errors.h"
#include "host/json_fields.h"
#include "host/nn/config.h"
#include "host/nn/layers.h"
#include "host/nn/pretrained.h"
#include "host/nn/shape_check.h"
#include "host/quanto_state_dict.h"
#include "runtime/model/model_runner.h"
#include "tests/test_support.h"

namespace pq {
namespace {

using ::testing::HasSubstr;
using test::error_of;
using ::testing::Not;
namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kMlp = fs::path(PORTAQUANT_SOURCE_DIR) / "examples/models/digits_mlp";
const fs::path kCnn = fs::path(PORTAQUANT_SOURCE_DIR) / "examples/models/digits_cnn";

json config_of(const fs::path& dir) {
  std::ifstream in(dir / "config.json");
  return json::parse(in);
}

// A copy of `model` (every file) whose config.json is `config`.
fs::path with_config(const test::TempDir& tmp, const fs::path& model, const json& config) {
  const fs::path dir = tmp / "model";
  fs::remove_all(dir);
  fs::copy(model, dir, fs::copy_options::recursive);
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
  return dir;
}

std::string load_error(const fs::path& dir) {
  return error_of([&] { nn::load_pretrained(dir); });
}

// ---------------------------------------------------------------- nn.Sequential config.json

TEST(SequentialConfig, Conv2dGroupsMustDivideTheChannels) {
  test::TempDir tmp;
  json config = config_of(kCnn);
  config["layers"][0]["groups"] = 0;  // was a division by zero (SIGFPE) in the weight shape
  EXPECT_THAT(load_error(with_config(tmp, kCnn, config)),
              HasSubstr("config.json: layers[0].groups: expected an integer in [1, 16777216], got 0"));
  config["layers"][0]["groups"] = 1;
  config["layers"][3]["groups"] = 3;
  EXPECT_THAT(load_error(with_config(tmp, kCnn, config)),
              HasSubstr("config.json: layers[3].groups: 3 does not divide in_channels 16 and out_channels 32"));
}

TEST(SequentialConfig, IntegersAreIntegersAndTypesAreNamed) {
  test::TempDir tmp;
  json config = config_of(kMlp);
  config["layers"][1]["in_features"] = 64.5;  // was truncated to 64
  EXPECT_THAT(load_error(with_config(tmp, kMlp, config)), HasSubstr("config.json: layers[1].in_features: expected an integer, got 64.5"));
  config["layers"][1]["in_features"] = "64";  // was nlohmann's "type must be number, but is string"
  const std::string e = load_error(with_config(tmp, kMlp, config));
  EXPECT_THAT(e, HasSubstr(R"(config.json: layers[1].in_features: expected an integer, got "64")"));
  EXPECT_THAT(e, Not(HasSubstr("json.exception")));
  config["layers"][1]["in_features"] = 64;
  config["layers"][1]["bias"] = "yes";
  EXPECT_THAT(load_error(with_config(tmp, kMlp, config)), HasSubstr(R"(layers[1].bias: expected true or false, got "yes")"));
  config["layers"][1]["bias"] = true;
  config["layers"][0] = 7;
  EXPECT_THAT(load_error(with_config(tmp, kMlp, config)), HasSubstr("config.json: layers[0]: expected a JSON object, got 7"));
}

TEST(SequentialConfig, KeysALayerDoesNotHaveAreRefused) {
  test::TempDir tmp;
  json config = config_of(kMlp);
  config["layers"][1]["in_feature"] = 64;  // a typo would otherwise be ignored
  EXPECT_THAT(load_error(with_config(tmp, kMlp, config)),
              HasSubstr("config.json: layers[1].in_feature: not understood (known keys: type, in_features, out_features, bias)"));
  config = config_of(kCnn);
  config["layers"][0]["padding_mode"] = "reflect";
  EXPECT_THAT(load_error(with_config(tmp, kCnn, config)), HasSubstr(R"(layers[0].padding_mode: only "zeros" is supported)"));
  config["layers"][0]["padding_mode"] = "zeros";
  config["layers"][0]["padding"] = "same";
  EXPECT_THAT(load_error(with_config(tmp, kCnn, config)), HasSubstr("layers[0].padding: only explicit padding"));
}

TEST(SequentialConfig, DimensionsAreBoundedBeforeAnythingIsAllocated) {
  test::TempDir tmp;
  json config = config_of(kMlp);
  config["layers"][1]["in_features"] = int64_t{1} << 28;
  EXPECT_THAT(load_error(with_config(tmp, kMlp, config)), HasSubstr("layers[1].in_features: expected an integer in [1, 16777216]"));
  config["layers"][1]["in_features"] = uint64_t{1} << 63;  // does not fit int64
  EXPECT_THAT(load_error(with_config(tmp, kMlp, config)), HasSubstr("layers[1].in_features: expected an integer in"));
  config = config_of(kCnn);
  for (const char* key : {"in_channels", "out_channels"}) config["layers"][3][key] = 1 << 24;
  config["layers"][3]["kernel_size"] = {4096, 4096};  // 2^72 weight elements: overflowed int64
  EXPECT_THAT(load_error(with_config(tmp, kCnn, config)), HasSubstr("layers[3].type: its weight [16777216, 16777216, 4096, 4096] would have"));
  config = config_of(kMlp);
  config["input_shape"] = {1, -8, 8};
  EXPECT_THAT(load_error(with_config(tmp, kMlp, config)), HasSubstr("config.json: input_shape[1]: expected an integer in [1, 16777216], got -8"));
}

// A quantized weight's expected layout was computed by quantizing a zero tensor of the config's
// shape: Linear(2^24, 2^16) allocated 1 TiB before the stored tensors' shapes were compared.
TEST(SequentialConfig, AHugeQuantizedLayerIsComparedWithTheFileWithoutAllocatingIt) {
  test::TempDir tmp;
  const fs::path quanto_int4 = test::fixture("interop/digits_mlp_wqint4_anone");  // written by quanto: no metadata
  json config = config_of(quanto_int4);
  config["layers"][1]["in_features"] = 1 << 24;
  config["layers"][1]["out_features"] = 1 << 16;
  EXPECT_THAT(load_error(with_config(tmp, quanto_int4, config)),
              HasSubstr("tensor '1.weight._data._data' is uint8 [128, 64] but uint8 [4294967296, 128] was expected"));
}

TEST(SequentialConfig, DeepNestingAndNonRegularFilesAreRefused) {
  test::TempDir tmp;
  const fs::path dir = with_config(tmp, kMlp, config_of(kMlp));
  std::ofstream(dir / "config.json", std::ios::trunc) << std::string(100000, '[') << std::string(100000, ']');
  EXPECT_THAT(load_error(dir), HasSubstr("config.json: JSON nested deeper than 64 levels"));
  // A FIFO without a writer blocked the open for ever.
  fs::remove(dir / "config.json");
  ASSERT_EQ(mkfifo((dir / "config.json").c_str(), 0600), 0);
  auto pending = std::async(std::launch::async, [&] { return load_error(dir); });
  if (pending.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    std::ofstream unblock(dir / "config.json");  // lets the reader finish so the test can end
    FAIL() << "reading a FIFO config.json blocked";
  }
  EXPECT_THAT(pending.get(), HasSubstr("config.json: a FIFO, not a regular file"));
}

// ---------------------------------------------------------------- shapes through the layers

nn::Model model_with_layers(const test::TempDir& tmp, const fs::path& base, const std::function<void(json&)>& edit) {
  json config = config_of(base);
  edit(config);
  return nn::load_pretrained(with_config(tmp, base, config));
}

// Flatten's dims were used unchecked: a heap-buffer-overflow on every device.
TEST(ShapeCheck, FlattenDimsOutsideTheInputsRankAreRefused) {
  test::TempDir tmp;
  const nn::Model model = model_with_layers(tmp, kMlp, [](json& c) { c["layers"][0]["start_dim"] = 5; });
  EXPECT_THAT(error_of([&] { nn::check_forward_shapes(*model.root, {2, 1, 8, 8}); }),
              HasSubstr("module '0' (Flatten): input [2, 1, 8, 8] has 4 dims, so start_dim 5 and end_dim -1 are out of range"));
  rt::model::ModelRunner runner(*model.root, rt::Device::open("cpu"), model.input_shape());
  EXPECT_THAT(error_of([&] { runner.forward(Tensor::zeros(DType::F32, {2, 1, 8, 8})); }), HasSubstr("module '0' (Flatten)"));
  const nn::Model backwards = model_with_layers(tmp, kMlp, [](json& c) { c["layers"][0]["start_dim"] = 3, c["layers"][0]["end_dim"] = 1; });
  EXPECT_THAT(error_of([&] { nn::check_forward_shapes(*backwards.root, {2, 1, 8, 8}); }),
              HasSubstr("flattened from start_dim 3 past end_dim 1"));
}

TEST(ShapeCheck, FollowsTorchsShapeRules) {
  const nn::Model cnn = nn::load_pretrained(kCnn);
  // conv 3x3 pad 1 keeps 8x8, pool 2 -> 4x4, conv keeps, pool -> 2x2, 32·2·2 = 128 -> Linear(128, 10).
  EXPECT_EQ(nn::check_forward_shapes(*cnn.root, {5, 1, 8, 8}), (Shape{5, 10}));
  EXPECT_THAT(error_of([&] { nn::check_forward_shapes(*cnn.root, {5, 3, 8, 8}); }),
              HasSubstr("module '0' (Conv2d): input [5, 3, 8, 8] has 3 channels, not in_channels 1"));
  EXPECT_THAT(error_of([&] { nn::check_forward_shapes(*cnn.root, {5, 1, 6, 6}); }),
              HasSubstr("module '7' (Linear): input [5, 32] does not end in in_features 128"));  // 6 -> 3 -> 1
  EXPECT_THAT(error_of([&] { nn::check_forward_shapes(*cnn.root, {5, 1, 1, 1}); }),
              HasSubstr("module '2' (MaxPool2d): input [5, 16, 1, 1] is smaller than the 2x2 window"));
  EXPECT_THAT(error_of([&] { nn::check_forward_shapes(*cnn.root, {64}); }),
              HasSubstr("module '0' (Conv2d): input [64] must be [batch, channels, height, width]"));
  EXPECT_THAT(error_of([&] { nn::check_forward_shapes(*cnn.root, {1 << 16, 1, 256, 256}); }),
              HasSubstr("input [65536, 1, 256, 256] has more than 2^31 - 1 elements"));
}

// The runner took any input with a multiple of the sample's element count and reshaped it.
TEST(ShapeCheck, RunnerChecksEachSampleAgainstInputShape) {
  const nn::Model mlp = nn::load_pretrained(kMlp);
  rt::model::ModelRunner runner(*mlp.root, rt::Device::open("cpu"), mlp.input_shape());
  EXPECT_EQ(runner.forward(Tensor::zeros(DType::F32, {3, 1, 8, 8})).shape(), (Shape{3, 10}));
  EXPECT_EQ(runner.forward(Tensor::zeros(DType::F32, {1, 8, 8})).shape(), (Shape{1, 10}));  // one sample, no batch dim
  EXPECT_THAT(error_of([&] { runner.forward(Tensor::zeros(DType::F32, {2, 64})); }),
              HasSubstr("input [2, 64] does not match the model's input_shape [1, 8, 8] (config.json): expected [batch, 1, 8, 8] or [1, 8, 8]"));
  EXPECT_THAT(error_of([&] { runner.forward(Tensor::zeros(DType::F32, {0, 1, 8, 8})); }), HasSubstr("input [0, 1, 8, 8] is empty"));
}

// An nn.Sequential that starts with an embedding: Embedding(5, 3) -> Flatten -> Linear(6, 2), inputs [N, 2].
fs::path embedding_model(const test::TempDir& tmp) {
  const fs::path dir = tmp / "embedding";
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({"architecture": "Sequential", "input_shape": [2], "layers": [
      {"type": "Embedding", "num_embeddings": 5, "embedding_dim": 3}, {"type": "Flatten"},
      {"type": "Linear", "in_features": 6, "out_features": 2, "bias": false}]})";
  std::vector<float> table(15), weight(12, 0.0f);
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<float>(i);  // row r = [3r, 3r+1, 3r+2]
  weight[0] = 1.0f;   // output 0 = first element of the first looked-up row
  weight[9] = 1.0f;   // output 1 = first element of the second looked-up row... plus its third (below)
  weight[11] = 1.0f;
  save_safetensors(dir / "model.safetensors", {{"0.weight", Tensor::from_values(DType::F32, {5, 3}, table)},
                                               {"2.weight", Tensor::from_values(DType::F32, {2, 6}, weight)}});
  return dir;
}

// Float inputs were cast to int32 (NaN to 0, 2.5 to 2) and, on OpenCL and Vulkan, indices past
// the table were clamped to its last row, where the reference (and torch) refuse them.
TEST(EmbeddingInput, IndicesAreCheckedOnEveryDevice) {
  test::TempDir tmp;
  const nn::Model model = nn::load_pretrained(embedding_model(tmp));
  for (const std::string& device : rt::available_device_ids(true)) {
    rt::model::ModelRunner runner(*model.root, rt::Device::open(device), model.input_shape());
    // Rows 1 and 4: output 0 = 3, output 1 = 12 + 14; the second call replays a recorded plan.
    for (const auto& [a, b] : {std::pair{1.0f, 4.0f}, std::pair{4.0f, 0.0f}}) {
      const std::vector<float> out = runner.forward(Tensor::from_values(DType::F32, {1, 2}, std::vector<float>{a, b})).to_float_vector();
      EXPECT_EQ(out, (std::vector<float>{3 * a, 6 * b + 2})) << device << " rows " << a << ", " << b;
    }
    for (const float bad : {5.0f, -1.0f, 2.5f, NAN, INFINITY}) {
      const Tensor input = Tensor::from_values(DType::F32, {1, 2}, std::vector<float>{0.0f, bad});
      EXPECT_THAT(error_of([&] { runner.forward(input); }), HasSubstr("input element 1 is")) << device << " " << bad;
    }
    EXPECT_THAT(error_of([&] { runner.forward(Tensor::from_values(DType::I32, {1, 2}, std::vector<int32_t>{7, 0})); }),
                HasSubstr("input element 0 is 7.000000, not a row index of the embedding table (an integer in [0, 5))"))
        << device;
  }
}

// A recorded plan cannot turn a layer's float output into indices; such a model once read the
// values back in the middle of recording (Vulkan: an error; OpenCL: the first input's rows for ever).
TEST(EmbeddingInput, OnlyTheModelsInputCanBeIndices) {
  const json config = json::parse(R"({"layers": [{"type": "Linear", "in_features": 2, "out_features": 2},
                                                 {"type": "Embedding", "num_embeddings": 5, "embedding_dim": 3}]})");
  const auto root = nn::build_from_config(config, "config.json");
  EXPECT_THAT(error_of([&] { nn::check_forward_shapes(*root, {1, 2}); }),
              HasSubstr("module '1' (Embedding): its input would be the output of an earlier layer"));
}

// ---------------------------------------------------------------- __metadata__["portaquant"]

std::string records_error(const std::string& text) {
  return error_of([&] { weight_records_from_metadata({{"portaquant", text}}, "m.safetensors"); });
}

TEST(WeightRecords, EveryFieldIsChecked) {
  const std::string ok = R"({"format_version": 1, "weights": {"fc": {"qtype": "qint4", "shape": [8, 64], "group_size": 32, "optimizer": "hqq"}}})";
  const WeightRecords records = weight_records_from_metadata({{"portaquant", ok}}, "m.safetensors");
  EXPECT_EQ(records.at("fc").group_size, 32);
  EXPECT_EQ(records.at("fc").shape, (Shape{8, 64}));
  const std::string where = R"(m.safetensors: __metadata__["portaquant"]: )";
  EXPECT_THAT(records_error("{"), HasSubstr(where + "malformed JSON"));
  EXPECT_THAT(records_error(R"({"format_version": 2, "weights": {}})"), HasSubstr(where + "format_version: expected an integer in [1, 1], got 2"));
  EXPECT_THAT(records_error(R"({"format_version": 1, "weights": {"fc": {"qtype": "qint4", "shape": [8, 64], "group_size": "32"}}})"),
              HasSubstr(where + R"(weights.fc.group_size: expected an integer, got "32")"));
  EXPECT_THAT(records_error(R"({"format_version": 1, "weights": {"fc": {"qtype": "qint4", "shape": [8, 64], "group_size": 48}}})"),
              HasSubstr(where + "weights.fc.group_size: group size 48 does not divide the 64 inputs of each output row"));
  EXPECT_THAT(records_error(R"({"format_version": 1, "weights": {"fc": {"qtype": "qint8", "shape": [8, 64], "group_size": 32}}})"),
              HasSubstr(where + "weights.fc.group_size: an 8-bit qtype has no groups"));
  EXPECT_THAT(records_error(R"({"format_version": 1, "weights": {"a.b": {"qtype": "qint5", "shape": [8]}}})"),
              HasSubstr(where + R"(weights["a.b"].qtype: unknown qtype 'qint5')"));
  EXPECT_THAT(records_error(R"({"format_version": 1, "weights": {"fc": {"qtype": "qint8", "shape": [8, -1]}}})"),
              HasSubstr(where + "weights.fc.shape[1]: expected an integer in [1, 2147483648], got -1"));
  EXPECT_THAT(records_error(R"({"format_version": 1, "weights": {"fc": {"qtype": "qint8", "shape": [2147483648, 2147483648, 2147483648]}}})"),
              HasSubstr(where + "weights.fc.shape: has more than 2^40 elements"));
  EXPECT_THAT(records_error(R"({"format_version": 1, "weights": {"fc": {"qtype": "qint8", "shape": [8], "optimizer": "adam"}}})"),
              HasSubstr(where + "weights.fc.optimizer: unknown optimizer 'adam'"));
}

// ---------------------------------------------------------------- messages

TEST(JsonFields, KeyPathsAndValuesInMessagesAreEscapedAndBounded) {
  const json j = json::parse(R"({"a\u001b[2Jb": {"x": "\u001b[31mred"}})");
  const JsonFields f(j, "f.json");
  const auto members = f.members();
  const JsonFields entry = f.member_object(members[0].first, *members[0].second);
  const std::string e = error_of([&] { entry.integer("x", 0, 1); });
  EXPECT_EQ(e, R"(f.json: ["a\x1b[2Jb"].x: expected an integer, got "\u001b[31mred")");
  EXPECT_THAT(error_of([&] { parse_json_text("{\"k\": tru}", "t.json"); }), HasSubstr("t.json: malformed JSON: parse error at line 1"));
}

}  // namespace
}  // namespace pq
