// Model forwards on cpu (op references) and on every OpenCL/Vulkan device, and the accuracy of
// the quantized digits models against their float versions.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "host/nn/pretrained.h"
#include "host/nn/quantize.h"
#include "host/safetensors.h"
#include "runtime/model/evaluate.h"

namespace pq::rt::model {
namespace {

namespace fs = std::filesystem;
const fs::path kExamples = fs::path(PORTAQUANT_SOURCE_DIR) / "examples";

std::vector<std::string> all_devices() { return available_device_ids(true); }

struct Data {
  Tensor images, labels, calibration;
};

const Data& digits() {
  static const Data data = [] {
    const SafetensorsFile test = SafetensorsFile::open(kExamples / "data/digits_test.safetensors");
    const SafetensorsFile cal = SafetensorsFile::open(kExamples / "data/digits_calibration.safetensors");
    return Data{test.load("images").contiguous(), test.load("labels").contiguous(), cal.load("images").contiguous()};
  }();
  return data;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return ab / std::sqrt(aa * bb);
}

struct Variant {
  const char* name;
  std::optional<QType> weights, activations;
  double max_drop;  // accuracy points below float
};

const Variant kVariants[] = {
    {"float", std::nullopt, std::nullopt, 0.0},
    {"W8", QType::QInt8, std::nullopt, 0.5},
    {"W8A8", QType::QInt8, QType::QInt8, 0.5},
    {"W4", QType::QInt4, std::nullopt, 1.5},
};

nn::Model prepared(const std::string& model_name, const Variant& v) {
  nn::Model model = nn::load_pretrained(kExamples / "models" / model_name);
  if (v.weights || v.activations) {
    nn::quantize(*model.root, {.weights = v.weights, .activations = v.activations});
    if (v.activations) ModelRunner(*model.root, Device::open("cpu"), model.input_shape()).calibrate({digits().calibration});
    nn::freeze(*model.root);
  }
  return model;
}

class DigitsAccuracy : public ::testing::TestWithParam<std::string> {};

TEST_P(DigitsAccuracy, QuantizedWithinBoundsOfFloatOnEveryDevice) {
  const Data& data = digits();
  for (const std::string& device : all_devices()) {
    double float_accuracy = 0;
    for (const Variant& v : kVariants) {
      nn::Model model = prepared(GetParam(), v);
      ModelRunner runner(*model.root, Device::open(device), model.input_shape());
      const Accuracy acc = evaluate(runner, data.images, data.labels);
      if (!v.weights) float_accuracy = acc.percent();
      std::printf("  %-10s %-5s %-10s accuracy %.2f%% (%lld/%lld)\n", GetParam().c_str(), v.name, device.c_str(),
                  acc.percent(), static_cast<long long>(acc.correct), static_cast<long long>(acc.total));
      EXPECT_GE(acc.percent(), float_accuracy - v.max_drop) << v.name << " on " << device;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, DigitsAccuracy, ::testing::Values("digits_mlp", "digits_cnn"));

TEST(ModelForward, DevicesMatchCpuAndPlansReplay) {
  const Tensor batch = rows(digits().images, 0, 64);
  for (const char* model_name : {"digits_mlp", "digits_cnn"}) {
    for (const Variant& v : kVariants) {
      nn::Model model = prepared(model_name, v);
      const std::vector<float> expected =
          ModelRunner(*model.root, Device::open("cpu"), model.input_shape()).forward(batch).to_float_vector();
      for (const std::string& device : all_devices()) {
        ModelRunner runner(*model.root, Device::open(device), model.input_shape());
        const std::vector<float> first = runner.forward(batch).to_float_vector();
        const std::vector<float> replayed = runner.forward(batch).to_float_vector();  // recorded plan
        EXPECT_GE(cosine(first, expected), 0.99999) << model_name << " " << v.name << " on " << device;
        EXPECT_EQ(first, replayed) << model_name << " " << v.name << " on " << device;
      }
    }
  }
}

TEST(ModelForward, UnfrozenMatchesFrozen) {
  nn::Model model = nn::load_pretrained(kExamples / "models/digits_cnn");
  nn::quantize(*model.root, {.weights = QType::QInt4});
  const Tensor batch = rows(digits().images, 0, 16);
  const Tensor dynamic = ModelRunner(*model.root, Device::open("cpu"), model.input_shape()).forward(batch);
  nn::freeze(*model.root);
  const Tensor frozen = ModelRunner(*model.root, Device::open("cpu"), model.input_shape()).forward(batch);
  EXPECT_TRUE(dynamic.equal(frozen));
}

}  // namespace
}  // namespace pq::rt::model
