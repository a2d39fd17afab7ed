// quantize -> calibrate -> freeze -> save -> reload -> run, on the digits MLP (W8A8 int8).
// Usage: quantize_digits [MODEL_DIR] [DATA_DIR] [DEVICE]   (defaults: the bundled model, cpu)
#include <cstdio>
#include <filesystem>
#include <string>

#include "host/nn/pretrained.h"
#include "host/nn/quantize.h"
#include "host/safetensors.h"
#include "runtime/model/evaluate.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using namespace pq;
  const fs::path source = argc > 1 ? argv[1] : PORTAQUANT_EXAMPLES_DIR "/models/digits_mlp";
  const fs::path data = argc > 2 ? argv[2] : PORTAQUANT_EXAMPLES_DIR "/data";
  const rt::Device device = rt::Device::open(argc > 3 ? argv[3] : "cpu");
  const SafetensorsFile test = SafetensorsFile::open(data / "digits_test.safetensors");
  const Tensor calibration = SafetensorsFile::open(data / "digits_calibration.safetensors").load("images");

  nn::Model model = nn::load_pretrained(source);
  nn::quantize(*model.root, {.weights = QType::QInt8, .activations = QType::QInt8});
  {
    rt::model::ModelRunner runner(*model.root, device, model.input_shape());
    runner.calibrate({calibration});  // quanto's `with Calibration(): model(images)`
  }
  nn::freeze(*model.root);
  const fs::path saved = fs::temp_directory_path() / ("portaquant_digits_w8a8_" + device.info().id());
  nn::save_pretrained(model, saved, {.overwrite = true});

  nn::Model reloaded = nn::load_pretrained(saved);
  rt::model::ModelRunner runner(*reloaded.root, device, reloaded.input_shape());
  const auto acc = rt::model::evaluate(runner, test.load("images"), test.load("labels"));
  std::printf("W8A8 model saved to %s: accuracy %.2f%% (%lld/%lld) on %s\n", saved.c_str(), acc.percent(),
              static_cast<long long>(acc.correct), static_cast<long long>(acc.total), device.info().name.c_str());
  return 0;
}
