// A model forward expressed as registry ops, with optimum-quanto's semantics for quantized
// modules: weights used as stored (int8/float8 codes, packed int4/int2), activations quantized
// per tensor with static scales (quantize_activation), W8A8 int8 Linear through linear_w8a8.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "host/nn/calibration.h"
#include "host/nn/module.h"
#include "runtime/model/executor.h"

namespace pq::rt::model {

// An activation; with `qtype` set its values are codes × `scale` exactly, which is what quanto's
// ActivationQBytesTensor stands for (kept through ReLU and Flatten, dropped by other ops).
struct Activation {
  Value value;
  std::optional<QType> qtype;
  float scale = 1.0f;
  const nn::Module* producer = nullptr;  // the quantized module whose output this is
};

// State of one calibration pass (quanto's Calibration context).
struct CalibrationState {
  nn::CalibrationOptions options;
  // Streamline: modules whose quantized output some consumer kept quantized.
  std::map<const nn::Module*, bool> keeps_quantized;
};

// Runs `module` (a tree) on `x`. With `calibration`, scales are updated as quanto's hooks do it
// (this reads activations back from the device).
Activation forward(Executor& ex, nn::Module& module, const std::string& name, Activation x,
                   CalibrationState* calibration = nullptr);

}  // namespace pq::rt::model
