#include "runtime/model/decoder_runner.h"

#include <algorithm>
#include <stdexcept>

namespace pq::rt::model {
namespace {

constexpr int64_t kDefaultMaxContext = 4096;

Tensor int32_tensor(std::span<const int32_t> values) {
  return Tensor::from_values(DType::I32, {static_cast<int64_t>(values.size())}, std::vector<int32_t>(values.begin(), values.end()));
}

}  // namespace

struct DecoderRunner::Plan {
  DecoderInputs inputs;
  Value output;  // float32 logits [m, vocab], or int32 [1] argmax
  std::unique_ptr<RecordedPlan> recorded;
  std::vector<std::shared_ptr<void>> keepalive;
  int eager_runs = 0;
  uint64_t scratch_bytes = 0;  // its intermediates
};

DecoderRunner::DecoderRunner(nn::Model& model, Device device, int64_t max_context, DecoderOptions options)
    : model_(model), device_(std::move(device)), options_(options), executor_(device_) {
  if (!model_.decoder) throw std::invalid_argument("DecoderRunner needs a decoder model (LlamaForCausalLM, ...)");
  const int64_t limit = model_.decoder->max_context();
  max_context_ = max_context > 0 ? max_context : std::min(limit, kDefaultMaxContext);
  if (max_context_ > limit) {
    throw std::invalid_argument("a context of " + std::to_string(max_context_) + " tokens is longer than the model's " +
                                std::to_string(limit));
  }
  cache_ = make_kv_cache(executor_, model_, max_context_);
}

DecoderRunner::~DecoderRunner() = default;

void DecoderRunner::check_block(std::span<const int32_t> tokens, int64_t start, std::span<const int32_t> logit_rows) const {
  const auto n = static_cast<int64_t>(tokens.size());
  if (n < 1) throw std::invalid_argument("no tokens to run");
  if (start < 0 || start + n > max_context_) {
    throw std::invalid_argument("tokens at positions " + std::to_string(start) + ".." + std::to_string(start + n - 1) +
                                " do not fit the context of " + std::to_string(max_context_) + " (--max-context)");
  }
  for (int32_t t : tokens) {
    if (t < 0 || t >= model_.decoder->vocab_size) {
      throw std::invalid_argument("token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                                  std::to_string(model_.decoder->vocab_size) + ")");
    }
  }
  for (int32_t r : logit_rows) {
    if (r < 0 || r >= n) throw std::invalid_argument("logit row " + std::to_string(r) + " is outside the block of " + std::to_string(n));
  }
}

DecoderRunner::Plan& DecoderRunner::plan_for(int64_t n, int64_t rows, bool argmax) {
  auto& slot = plans_[{n, rows, argmax}];
  if (!slot) {
    slot = std::make_unique<Plan>();
    auto zeros = [&](int64_t count) { return executor_.input(Tensor::zeros(DType::I32, {count})); };
    slot->inputs = {zeros(n), zeros(n), zeros(1), zeros(1), zeros(rows)};
  }
  return *slot;
}

void DecoderRunner::set_inputs(Plan& plan, std::span<const int32_t> tokens, int64_t start, std::span<const int32_t> logit_rows) {
  std::vector<int32_t> positions(tokens.size());
  for (size_t i = 0; i < positions.size(); ++i) positions[i] = static_cast<int32_t>(start + static_cast<int64_t>(i));
  const int32_t start32 = static_cast<int32_t>(start), kv_len = static_cast<int32_t>(start + static_cast<int64_t>(tokens.size()));
  const std::pair<Value*, Tensor> values[] = {{&plan.inputs.tokens, int32_tensor(tokens)},
                                              {&plan.inputs.positions, int32_tensor(positions)},
                                              {&plan.inputs.start, int32_tensor({&start32, 1})},
                                              {&plan.inputs.kv_len, int32_tensor({&kv_len, 1})},
                                              {&plan.inputs.logit_rows, int32_tensor(logit_rows)}};
  for (const auto& [value, tensor] : values) {
    if (device_.is_cpu()) {
      value->host = tensor;
    } else {
      device_.backend().upload(*value->device.buffer, tensor.bytes());
    }
  }
}

Tensor DecoderRunner::run(std::span<const int32_t> tokens, int64_t start, std::span<const int32_t> logit_rows, bool argmax) {
  check_block(tokens, start, logit_rows);
  Plan& plan = plan_for(static_cast<int64_t>(tokens.size()), static_cast<int64_t>(logit_rows.size()), argmax);
  set_inputs(plan, tokens, start, logit_rows);
  if (plan.recorded) {
    plan.recorded->replay();
    device_.backend().synchronize();
    return device_.download(plan.output.device);
  }
  auto graph = [&] {
    const Value logits = decoder_forward(executor_, model_, cache_, plan.inputs, nullptr, options_);
    if (argmax) return executor_.run1("argmax", {logits});
    return logits.dtype == DType::F32 ? logits : executor_.run1("cast", {logits}, {{"dtype", 0}});
  };
  const Tensor result = executor_.read(graph());
  // A shape seen once (a prompt) is not worth a plan's memory; from the second time on (decode
  // steps, perplexity windows) it is. The eager runs uploaded every weight, so recording
  // captures launches only.
  if (device_.is_cpu() || ++plan.eager_runs < 2) return result;
  executor_.finish();
  executor_.reset_allocated_bytes();
  plan.recorded = device_.backend().record([&] { plan.output = graph(); });
  plan.scratch_bytes = executor_.allocated_bytes();
  executor_.move_keepalive_to(plan.keepalive);
  return result;
}

Tensor DecoderRunner::logits(std::span<const int32_t> tokens, int64_t start, std::span<const int32_t> logit_rows) {
  return run(tokens, start, logit_rows, false);
}

int32_t DecoderRunner::argmax_next(std::span<const int32_t> tokens, int64_t start) {
  const int32_t last = static_cast<int32_t>(tokens.size()) - 1;
  return run(tokens, start, {&last, 1}, true).data<int32_t>()[0];
}

void DecoderRunner::calibrate(const std::vector<std::vector<int32_t>>& samples, const nn::CalibrationOptions& options) {
  executor_.finish();
  plans_.clear();
  executor_.clear_constants();
  CalibrationState state{options, model_.dtype, {}};
  for (const auto& sample : samples) {
    std::vector<int32_t> rows(sample.size());
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int32_t>(i);
    check_block(sample, 0, rows);
    Plan& plan = plan_for(static_cast<int64_t>(sample.size()), static_cast<int64_t>(rows.size()), false);
    set_inputs(plan, sample, 0, rows);
    decoder_forward(executor_, model_, cache_, plan.inputs, &state);
    executor_.finish();
    executor_.clear_constants();  // scales changed: the next sample uploads the new ones
    if (options.on_sample) options.on_sample(static_cast<size_t>(&sample - samples.data()) + 1, samples.size());
  }
  plans_.clear();
}

DeviceMemory DecoderRunner::memory() const {
  const models::DecoderConfig& c = *model_.decoder;
  DeviceMemory m;
  m.weights = device_weight_bytes(model_);
  m.kv_cache = static_cast<uint64_t>(2 * c.num_layers * max_context_ * c.num_kv_heads * c.head_dim) * dtype_size(model_.dtype);
  for (const auto& [shape, plan] : plans_) m.scratch += plan->scratch_bytes;
  return m;
}

}  // namespace pq::rt::model
