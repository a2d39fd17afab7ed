// The forward of an nn.Sequential model (host/nn/config.h) as registry ops, with
// optimum-quanto's semantics for its quantized modules (runtime/model/quantized_modules.h).
#pragma once

#include <string>

#include "host/nn/module.h"
#include "runtime/model/quantized_modules.h"

namespace pq::rt::model {

// Runs `module` (a tree) on `x`. With `calibration`, scales are updated as quanto's hooks do it
// (this reads activations back from the device).
Activation forward(Executor& ex, nn::Module& module, const std::string& name, Activation x,
                   CalibrationState* calibration = nullptr);

}  // namespace pq::rt::model
