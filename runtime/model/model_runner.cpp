#include "runtime/model/model_runner.h"

#include "runtime/model/forward.h"

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

Tensor ModelRunner::shaped_input(const Tensor& input) const {
  if (input_shape_.empty() || input.dim() == 0) return input;
  const int64_t per_sample = shape_numel(input_shape_);
  if (per_sample == 0 || input.numel() % per_sample != 0) return input;
  Shape shape{input.numel() / per_sample};
  shape.insert(shape.end(), input_shape_.begin(), input_shape_.end());
  return input.contiguous().reshape(shape);
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
  for (const Tensor& batch : batches) {
    model::forward(executor_, model_, "", {executor_.input(shaped_input(batch))}, &state);
    executor_.finish();
    executor_.clear_constants();  // scales changed: the next batch uploads the new ones
  }
  invalidate();
}

}  // namespace pq::rt::model
