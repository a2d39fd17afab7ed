#include "runtime/model/model_runner.h"

#include <cmath>
#include <stdexcept>

#include "host/nn/layers.h"
#include "host/nn/shape_check.h"
#include "runtime/model/forward.h"
#include "runtime/model/quantized_modules.h"

namespace pq::rt::model {

struct ModelRunner::Plan {
  std::unique_ptr<RecordedPlan> recorded;
  Value input, output;
  std::vector<std::shared_ptr<void>> keepalive;
};

ModelRunner::ModelRunner(nn::Module& model, Device device, Shape input_shape)
    : model_(model), device_(std::move(device)), input_shape_(std::move(input_shape)), executor_(device_) {}

ModelRunner::~ModelRunner() = default;

void ModelRunner::invalidate() {
  executor_.finish();
  plans_.clear();
  eager_runs_.clear();
  executor_.clear_constants();
}

namespace {

// The embedding the model's input goes into (through Flatten only), if any: the input's values
// are then row indices. shape_check refuses an embedding anywhere else.
const nn::Embedding* input_embedding(const nn::Module& m) {
  for (const auto& [name, module] : nn::named_modules(m)) {
    if (!module->children().empty() || dynamic_cast<const nn::Flatten*>(module)) continue;
    return dynamic_cast<const nn::Embedding*>(module);
  }
  return nullptr;
}

// Indices go to the device as int32 and its gather clamps them: a NaN, a fraction or a row past
// the table is refused here, as torch's F.embedding refuses it (and the CPU reference does).
void check_indices(const nn::Embedding& e, const Tensor& input) {
  const std::vector<float> values = input.to_float_vector();
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (!(v >= 0.0f && v < static_cast<float>(e.num_embeddings)) || v != std::floor(v)) {
      throw std::invalid_argument("input element " + std::to_string(i) + " is " + std::to_string(v) +
                                  ", not a row index of the embedding table (an integer in [0, " +
                                  std::to_string(e.num_embeddings) + "))");
    }
  }
}

}  // namespace

Tensor ModelRunner::shaped_input(const Tensor& input) const {
  Tensor shaped = input;
  if (!input_shape_.empty()) {
    Shape batched{1};
    batched.insert(batched.end(), input_shape_.begin(), input_shape_.end());
    const bool one_sample = input.shape() == input_shape_;
    const bool batch = input.dim() == static_cast<int64_t>(input_shape_.size()) + 1 &&
                       std::equal(input_shape_.begin(), input_shape_.end(), input.shape().begin() + 1);
    if (!one_sample && !batch) {
      throw std::invalid_argument("input " + shape_to_string(input.shape()) + " does not match the model's input_shape " +
                                  shape_to_string(input_shape_) + " (config.json): expected [batch, " +
                                  shape_to_string(input_shape_).substr(1) + " or " + shape_to_string(input_shape_));
    }
    if (one_sample) shaped = input.contiguous().reshape(batched);
  }
  nn::check_forward_shapes(model_, shaped.shape());
  if (const nn::Embedding* e = input_embedding(model_)) {
    check_indices(*e, shaped);
    // As int32 here, so that a recorded plan takes each new input (a conversion inside the
    // forward would be recorded once, with the first input's indices).
    if (shaped.dtype() != DType::I32) shaped = shaped.to(DType::I32);
  }
  return shaped;
}

bool ModelRunner::plannable() const {
  if (device_.is_cpu()) return false;
  for (const auto& [name, module] : nn::named_modules(static_cast<const nn::Module&>(model_))) {
    const nn::QuantState* q = module->quant();
    if (q && q->weights && !q->frozen) return false;
  }
  return true;
}

Tensor ModelRunner::run_eager(const Tensor& input) {
  if (!plannable()) executor_.clear_constants();  // dynamic weights: quantized afresh
  const Activation y = model::forward(executor_, model_, "", {executor_.input(input)});
  Tensor out = executor_.read(y.value);
  executor_.finish();
  return out;
}

Tensor ModelRunner::forward(const Tensor& raw_input) {
  const Tensor input = shaped_input(raw_input);
  if (!plannable()) return run_eager(input);
  const auto found = plans_.find(input.shape());
  if (found == plans_.end()) {
    // The first run uploads every constant, so recording only captures launches.
    Tensor out = run_eager(input);
    auto plan = std::make_unique<Plan>();
    plan->input = executor_.input(input);
    plan->recorded = device_.backend().record([&] { plan->output = model::forward(executor_, model_, "", {plan->input}).value; });
    executor_.move_keepalive_to(plan->keepalive);
    plans_.emplace(input.shape(), std::move(plan));
    return out;
  }
  Plan& plan = *found->second;
  const Tensor contiguous = input.contiguous();
  device_.backend().upload(*plan.input.device.buffer, contiguous.bytes());
  plan.recorded->replay();
  device_.backend().synchronize();
  return device_.download(plan.output.device);
}

void ModelRunner::calibrate(const std::vector<Tensor>& batches, const nn::CalibrationOptions& options) {
  invalidate();
  CalibrationState state{options, {}};
  for (size_t i = 0; i < batches.size(); ++i) {
    model::forward(executor_, model_, "", {executor_.input(shaped_input(batches[i]))}, &state);
    executor_.finish();
    executor_.clear_constants();  // scales changed: the next batch uploads the new ones
    if (options.on_sample) options.on_sample(i + 1, batches.size());
  }
  invalidate();
  check_calibrated_scales(model_);
}

}  // namespace pq::rt::model
