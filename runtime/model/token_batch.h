// `portaquant run` on transformer models: a batch of token ids in, logits (decoders) or last
// hidden states (encoders) out, as transformers' model(input_ids, attention_mask) returns them.
#pragma once

#include <optional>
#include <vector>

#include "host/nn/pretrained.h"
#include "runtime/device.h"

namespace pq::rt::model {

// input_ids [B, S] or [S] (any integer dtype) and an optional attention_mask of the same shape
// (1 for tokens, 0 for right padding), as sequences; errors name the tensors.
std::vector<std::vector<int32_t>> token_sequences(const Tensor& input_ids, const std::optional<Tensor>& attention_mask);

// Decoders: float32 logits [B, S, vocab], each sequence run from position 0 (positions past a
// sequence's length hold zeros). Encoders: float32 last_hidden_state [B, S, hidden].
Tensor run_token_batch(nn::Model& model, const Device& device, const std::vector<std::vector<int32_t>>& sequences);

}  // namespace pq::rt::model
