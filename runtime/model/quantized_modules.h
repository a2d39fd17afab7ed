// The modules optimum-quanto replaces (Linear, Conv2d, LayerNorm) run as registry ops with
// quanto's semantics: weights used as stored (int8/float8 codes, packed int4/int2), activations
// quantized per tensor with static scales, W8A8 int8 Linear through linear_w8a8, and the
// calibration hooks (input/output scales as EMAs, streamline). Shared by every architecture's
// forward (nn.Sequential, decoders, encoders).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "host/nn/calibration.h"
#include "host/nn/layers.h"
#include "runtime/model/executor.h"

namespace pq::rt::model {

// An activation; with `qtype` set its values are codes × `scale` exactly, which is what quanto's
// ActivationQBytesTensor stands for (kept through view-like ops, dropped by float ops).
struct Activation {
  Value value;
  std::optional<QType> qtype;
  float scale = 1.0f;
  const nn::Module* producer = nullptr;  // the quantized module whose output this is
};

// State of one calibration pass (quanto's Calibration context).
struct CalibrationState {
  nn::CalibrationOptions options;
  DType dtype = DType::F32;  // of the activations (and so of the scales)
  // Streamline as designed: modules whose quantized output some consumer kept quantized.
  std::map<const nn::Module*, bool> keeps_quantized;
};

// A float weight of the model on the device, in `dtype` (uploaded once under its name).
Value float_constant(Executor& ex, const std::string& key, const Tensor& t, DType dtype);

// A consumer took `x`; streamline (as designed) remembers whether it kept the producer's
// output quantized.
void consumed(CalibrationState* cal, const Activation& x, bool kept_quantized);

// quanto's calibrate_output on a parent that is not a quantized module: what streamline does
// to the quantized children when the parent's forward ends.
void end_of_parent(nn::Module& parent, CalibrationState* cal);

// A quantized module's forward with quanto's hooks: calibrate_input + quantize_input, the
// layer, calibrate_output + quantize_output. `dtype` is the activations' dtype.
Activation linear_module(Executor& ex, nn::Linear& l, const std::string& name, Activation x, CalibrationState* cal,
                         DType dtype = DType::F32);
// Linears that read one input run as one (a single launch): the rows of their weights stacked
// once and uploaded under `name`, the output [n, sum of out_features] with each module's
// columns in order, each row computed as its own module computes it. Only outside calibration,
// for weight-only modules with frozen weights of one format (or all float) and a bias on all or
// none; nullopt otherwise (run them one by one).
std::optional<Value> stacked_linear_modules(Executor& ex, const std::vector<const nn::Linear*>& modules,
                                           const std::string& name, const Value& x, CalibrationState* cal, DType dtype);
// A gated MLP's silu(gate(x)) · up(x) as one op (linear_swiglu, runtime/ops/linear_swiglu.cpp):
// the two weights' rows interleaved once and uploaded under `name`, the bits of the modules and
// silu_mul one after the other. nullopt where they do not stack (as stacked_linear_modules) or
// are float with a bias.
std::optional<Value> linear_swiglu_modules(Executor& ex, const nn::Linear& gate, const nn::Linear& up, const std::string& name,
                                          const Value& x, CalibrationState* cal, DType dtype);
// The residual add and RMSNorm after a module (add_rmsnorm(h, y, weight)), and the zero int32 [1]
// counter fused_linear needs.
struct AddRmsNorm {
  Value h, weight, counter;
  double eps;
};
// A weight-only module and the add_rmsnorm after it as one op (fused_linear,
// runtime/ops/linear_fused.cpp): (h + y, rmsnorm(h + y) · weight), the bits of the module and
// add_rmsnorm one after the other. nullopt where the module is not one weight-only op
// (quantized activations, calibration, a float weight with a bias): run them one by one.
std::optional<std::vector<Value>> linear_module_add_rmsnorm(Executor& ex, const nn::Linear& l, const std::string& name,
                                                           const Value& x, const AddRmsNorm& norm, CalibrationState* cal,
                                                           DType dtype);
// An attention's KV cache write after its q/k/v projections (rope_kv_write's inputs other than
// qkv), and the zero int32 [1] counter linear_rope_kv_write needs.
struct RopeKvWrite {
  Value k_cache, v_cache, positions, inv_freq, start, counter;
  int64_t q_heads;
};
// Stacked q/k/v modules (as stacked_linear_modules, uploaded under `name`) and the
// rope_kv_write after them as one op (linear_rope_kv_write, runtime/ops/linear_rope_kv_write.cpp):
// (q, k_cache, v_cache), the bits of the stacked linear and rope_kv_write one after the other.
// nullopt where the modules do not stack or are not one weight-only op (as linear_module_add_rmsnorm).
std::optional<std::vector<Value>> linear_rope_kv_write_modules(Executor& ex, const std::vector<const nn::Linear*>& modules,
                                                              const std::string& name, const Value& x, const RopeKvWrite& rope,
                                                              CalibrationState* cal, DType dtype);
Activation layer_norm_module(Executor& ex, nn::LayerNorm& n, const std::string& name, Activation x,
                             CalibrationState* cal, DType dtype = DType::F32);
Activation conv2d_module(Executor& ex, nn::Conv2d& c, const std::string& name, Activation x, CalibrationState* cal);

// After calibration: a module whose activations were all zero on every calibration sample has
// scale 0, which quantizes any later input to zero (optimum-quanto saves it so): refused,
// naming the module, so that no such model is saved.
void check_calibrated_scales(const nn::Module& root);

}  // namespace pq::rt::model
