// Calibration with quanto's default semantics (input momentum 0.9, streamline as torch >= 2.5
// runs it) on the digits models gives the activation scales optimum-quanto saved in
// tests/fixtures/interop: bit for bit where our float sums equal torch's, within a few ulps
// (8: a convolution's 144-term sums in another order than torch's) where they do not.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <filesystem>

#include "host/checkpoint.h"
#include "host/nn/pretrained.h"
#include "host/safetensors.h"
#include "runtime/model/quantize_workflow.h"
#include "tests/test_support.h"

namespace pq::rt::model {
namespace {

namespace fs = std::filesystem;

struct CalibrationCase {
  const char* dir;  // tests/fixtures/interop/<dir>
  const char* model;
  QType weights, activations;
};

const CalibrationCase kCases[] = {
    {"digits_mlp_wqint8_aqint8", "mlp", QType::QInt8, QType::QInt8},
    {"digits_mlp_wqint8_aqfloat8_e4m3fn", "mlp", QType::QInt8, QType::QFloat8_E4M3FN},
    {"digits_mlp_wqint4_aqint8", "mlp", QType::QInt4, QType::QInt8},
    {"digits_cnn_wqint8_aqint8", "cnn", QType::QInt8, QType::QInt8},
    {"digits_cnn_wqint8_aqfloat8_e4m3fn", "cnn", QType::QInt8, QType::QFloat8_E4M3FN},
    {"digits_cnn_wqint4_aqint8", "cnn", QType::QInt4, QType::QInt8},
};

class QuantoCalibration : public ::testing::TestWithParam<CalibrationCase> {};

TEST_P(QuantoCalibration, ScalesAreQuantos) {
  static_assert(sizeof(float) == 4);
  const CalibrationCase c = GetParam();
  const fs::path source = fs::path(PORTAQUANT_SOURCE_DIR) / "examples/models" / (std::string("digits_") + c.model);
  const Tensor images = SafetensorsFile::open(fs::path(PORTAQUANT_SOURCE_DIR) / "examples/data/digits_calibration.safetensors")
                            .load("images")
                            .contiguous();
  ModelQuantizeOptions options;
  options.quantize.weights = c.weights;
  options.quantize.activations = c.activations;
  // quanto's calls: 4 batches of 32 images, in order (tests/fixtures/interop/README.md).
  for (int64_t s = 0; s < images.size(0); s += 32) options.calibration.batches.push_back(images.slice(0, s, std::min(images.size(0), s + 32)));
  test::TempDir tmp;
  quantize_model(source, tmp / "ours", options);
  const Checkpoint ours = Checkpoint::open(tmp / "ours"), theirs = Checkpoint::open(test::fixture("interop/" + std::string(c.dir)));
  int exact = 0, total = 0;
  for (const auto& name : theirs.names()) {
    if (!name.ends_with("input_scale") && !name.ends_with("output_scale")) continue;
    const float a = ours.load(name).to_float_vector()[0], b = theirs.load(name).to_float_vector()[0];
    ++total;
    exact += a == b;
    EXPECT_LE(test::float32_ulps(a, b), 8) << c.dir << " " << name << ": ours " << a << ", quanto " << b;
  }
  std::printf("  %-36s %d/%d scales bit-identical to quanto's\n", c.dir, exact, total);
}

INSTANTIATE_TEST_SUITE_P(Digits, QuantoCalibration, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.dir); });

void PrintTo(const CalibrationCase& c, std::ostream* os) { *os << c.dir; }

}  // namespace
}  // namespace pq::rt::model
