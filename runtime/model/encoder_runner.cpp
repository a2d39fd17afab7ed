#include "runtime/model/encoder_runner.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "runtime/model/device_memory.h"

namespace pq::rt::model {

struct EncoderRunner::Plan {
  EncoderInputs inputs;
  Value output;
  std::unique_ptr<RecordedPlan> recorded;
  std::vector<std::shared_ptr<void>> keepalive;
  int eager_runs = 0;
};

EncoderRunner::EncoderRunner(nn::Model& model, Device device) : model_(model), device_(std::move(device)), executor_(device_) {
  if (!model_.encoder) throw std::invalid_argument("EncoderRunner needs a BERT model (BertModel, ...)");
}

EncoderRunner::~EncoderRunner() = default;

void EncoderRunner::check_batch(const std::vector<std::vector<int32_t>>& batch) const {
  if (batch.empty()) throw std::invalid_argument("no sequences to encode");
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto n = static_cast<int64_t>(batch[i].size());
    if (n < 1) throw std::invalid_argument("sequence " + std::to_string(i) + " has no tokens");
    if (n > model_.encoder->max_position_embeddings) {
      throw std::invalid_argument("sequence " + std::to_string(i) + " has " + std::to_string(n) + " tokens, more than the model's " +
                                  std::to_string(model_.encoder->max_position_embeddings) + " positions");
    }
    for (int32_t t : batch[i]) {
      if (t < 0 || t >= model_.encoder->vocab_size) {
        throw std::invalid_argument("token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                                    std::to_string(model_.encoder->vocab_size) + ")");
      }
    }
  }
}

EncoderRunner::Plan& EncoderRunner::plan_for(int64_t batch, int64_t seq) {
  auto& slot = plans_[{batch, seq}];
  if (!slot) {
    slot = std::make_unique<Plan>();
    auto zeros = [&](int64_t count) { return executor_.input(Tensor::zeros(DType::I32, {count})); };
    slot->inputs = {zeros(batch * seq), zeros(batch * seq), zeros(batch * seq), zeros(batch), zeros(batch), batch, seq};
  }
  return *slot;
}

void EncoderRunner::set_inputs(Plan& plan, const std::vector<std::vector<int32_t>>& batch) {
  const int64_t seq = plan.inputs.seq;
  const int32_t pad = static_cast<int32_t>(model_.encoder->pad_token_id.value_or(0));
  std::vector<int32_t> tokens, positions, lengths, first_rows;
  for (size_t b = 0; b < batch.size(); ++b) {
    for (int64_t s = 0; s < seq; ++s) {
      tokens.push_back(s < static_cast<int64_t>(batch[b].size()) ? batch[b][static_cast<size_t>(s)] : pad);
      positions.push_back(static_cast<int32_t>(s));
    }
    lengths.push_back(static_cast<int32_t>(batch[b].size()));
    first_rows.push_back(static_cast<int32_t>(static_cast<int64_t>(b) * seq));
  }
  auto tensor = [](const std::vector<int32_t>& v) { return Tensor::from_values(DType::I32, {static_cast<int64_t>(v.size())}, v); };
  const std::pair<Value*, Tensor> values[] = {{&plan.inputs.tokens, tensor(tokens)},
                                              {&plan.inputs.positions, tensor(positions)},
                                              {&plan.inputs.token_types, tensor(std::vector<int32_t>(tokens.size(), 0))},
                                              {&plan.inputs.lengths, tensor(lengths)},
                                              {&plan.inputs.first_rows, tensor(first_rows)}};
  for (const auto& [value, t] : values) {
    if (device_.is_cpu()) value->host = t;
    else device_.backend().upload(*value->device.buffer, t.bytes());
  }
}

Tensor EncoderRunner::last_hidden_state(const std::vector<std::vector<int32_t>>& batch) {
  check_batch(batch);
  size_t seq = 0;
  for (const auto& s : batch) seq = std::max(seq, s.size());
  Plan& plan = plan_for(static_cast<int64_t>(batch.size()), static_cast<int64_t>(seq));
  set_inputs(plan, batch);
  if (plan.recorded) {
    plan.recorded->replay();
    device_.backend().synchronize();
    return device_.download(plan.output.device);
  }
  auto graph = [&] {
    const Value h = encoder_forward(executor_, model_, plan.inputs);
    return h.dtype == DType::F32 ? h : executor_.run1("cast", {h}, {{"dtype", 0}});
  };
  const Tensor result = executor_.read(graph());
  if (device_.is_cpu() || ++plan.eager_runs < 2) return result;
  executor_.finish();
  plan.recorded = device_.backend().record([&] { plan.output = graph(); });
  executor_.move_keepalive_to(plan.keepalive);
  return result;
}

Tensor EncoderRunner::embeddings(const std::vector<std::vector<int32_t>>& batch) {
  std::vector<int64_t> lengths;
  for (const auto& s : batch) lengths.push_back(static_cast<int64_t>(s.size()));
  return mean_pool_normalize(last_hidden_state(batch), lengths);
}

void EncoderRunner::calibrate(const std::vector<std::vector<int32_t>>& samples, const nn::CalibrationOptions& options) {
  executor_.finish();
  plans_.clear();
  executor_.clear_constants();
  CalibrationState state{options, model_.dtype, {}};
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& sample = samples[i];
    check_batch({sample});
    Plan& plan = plan_for(1, static_cast<int64_t>(sample.size()));
    set_inputs(plan, {sample});
    encoder_forward(executor_, model_, plan.inputs, &state);
    executor_.finish();
    executor_.clear_constants();
    if (options.on_sample) options.on_sample(i + 1, samples.size());
  }
  plans_.clear();
}

uint64_t EncoderRunner::weight_bytes() const { return device_weight_bytes(model_); }

Tensor mean_pool_normalize(const Tensor& hidden, const std::vector<int64_t>& lengths) {
  const int64_t batch = hidden.size(0), seq = hidden.size(1), dim = hidden.size(2);
  const std::vector<float> h = hidden.to_float_vector();
  std::vector<float> out(static_cast<size_t>(batch * dim));
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> mean(static_cast<size_t>(dim), 0.0);
    for (int64_t s = 0; s < lengths[static_cast<size_t>(b)]; ++s) {
      for (int64_t d = 0; d < dim; ++d) mean[static_cast<size_t>(d)] += h[static_cast<size_t>((b * seq + s) * dim + d)];
    }
    double norm = 0;
    for (double& v : mean) {
      v /= static_cast<double>(lengths[static_cast<size_t>(b)]);
      norm += v * v;
    }
    // sentence-transformers' Normalize divides by max(norm, 1e-12).
    norm = std::max(std::sqrt(norm), 1e-12);
    for (int64_t d = 0; d < dim; ++d) out[static_cast<size_t>(b * dim + d)] = static_cast<float>(mean[static_cast<size_t>(d)] / norm);
  }
  return Tensor::from_floats(DType::F32, {batch, dim}, out);
}

}  // namespace pq::rt::model
