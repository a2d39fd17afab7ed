// Models quantized, calibrated, frozen and saved by optimum-quanto 0.2.7 (tests/fixtures/interop)
// load here and give quanto's logits (as quanto's own requantize() gives them) on every device.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "host/nn/pretrained.h"
#include "host/safetensors.h"
#include "runtime/model/evaluate.h"

namespace pq::rt::model {
namespace {

namespace fs = std::filesystem;
const fs::path kInterop = fs::path(PORTAQUANT_SOURCE_DIR) / "tests/fixtures/interop";

std::vector<std::string> all_devices() { return available_device_ids(true); }

TEST(ModelInterop, QuantoSavedModelsGiveQuantoLogits) {
  if (!fs::exists(kInterop)) GTEST_SKIP() << "no interop fixtures";
  const SafetensorsFile test = SafetensorsFile::open(fs::path(PORTAQUANT_SOURCE_DIR) / "examples/data/digits_test.safetensors");
  const Tensor images = test.load("images").contiguous();
  for (const auto& entry : fs::directory_iterator(kInterop)) {
    if (!fs::exists(entry.path() / "outputs.safetensors")) continue;
    const std::vector<float> expected = SafetensorsFile::open(entry.path() / "outputs.safetensors").load("logits_requantized").to_float_vector();
    const std::vector<int64_t> expected_classes = argmax_rows(SafetensorsFile::open(entry.path() / "outputs.safetensors").load("logits_requantized"));
    nn::Model model = nn::load_pretrained(entry.path());
    for (const std::string& device : all_devices()) {
      ModelRunner runner(*model.root, Device::open(device), model.input_shape());
      const Tensor logits = runner.forward(images);
      const std::vector<float> got = logits.to_float_vector();
      double ab = 0, aa = 0, bb = 0;
      for (size_t i = 0; i < got.size(); ++i) ab += double(got[i]) * expected[i], aa += double(got[i]) * got[i], bb += double(expected[i]) * expected[i];
      const double cosine = ab / std::sqrt(aa * bb);
      const std::vector<int64_t> classes = argmax_rows(logits);
      int64_t same = 0;
      for (size_t i = 0; i < classes.size(); ++i) same += classes[i] == expected_classes[i];
      const double agreement = 100.0 * static_cast<double>(same) / static_cast<double>(classes.size());
      std::printf("  %-36s %-9s cosine %.7f argmax agreement %.2f%%\n", entry.path().filename().c_str(), device.c_str(), cosine, agreement);
      EXPECT_GE(cosine, 0.9999) << entry.path().filename() << " on " << device;
      EXPECT_GE(agreement, 99.5) << entry.path().filename() << " on " << device;
    }
  }
}

}  // namespace
}  // namespace pq::rt::model
