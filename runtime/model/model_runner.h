// Runs an nn model on a device. On OpenCL/Vulkan the first forward for an input shape runs
// eagerly (uploading the weights once), the next ones replay a plan recorded for that shape.
// Models with unfrozen quantized modules re-quantize their weights on every forward (quanto's
// dynamic mode), so they always run eagerly.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "host/nn/calibration.h"
#include "host/nn/module.h"
#include "runtime/model/executor.h"

namespace pq::rt::model {

class ModelRunner {
 public:
  // `input_shape`: one sample's shape (config's input_shape), or empty. Inputs must then be
  // [N, input_shape...] or one sample [input_shape...]; every input is checked against the
  // layers (shape_check.h) and, when it feeds an Embedding, its values against the table,
  // before anything runs: std::invalid_argument naming the module otherwise.
  ModelRunner(nn::Module& model, Device device, Shape input_shape = {});
  ~ModelRunner();

  Tensor forward(const Tensor& input);
  // Runs the batches as quanto's `with Calibration(momentum, streamline): model(batch)`;
  // refuses scales that calibration left at 0 or non-finite (check_calibrated_scales).
  void calibrate(const std::vector<Tensor>& batches, const nn::CalibrationOptions& options = {});
  // Call after changing the model (quantize, freeze, new weights): drops uploads and plans.
  void invalidate();

  const Device& device() const { return device_; }

 private:
  struct Plan;
  Tensor shaped_input(const Tensor& input) const;
  Tensor run_eager(const Tensor& input);
  bool plannable() const;

  nn::Module& model_;
  Device device_;
  Shape input_shape_;
  Executor executor_;
  std::map<Shape, std::unique_ptr<Plan>> plans_;
  std::map<Shape, int> eager_runs_;
};

}  // namespace pq::rt::model
