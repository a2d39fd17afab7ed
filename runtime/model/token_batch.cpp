#include "runtime/model/token_batch.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "runtime/model/decoder_runner.h"
#include "runtime/model/encoder_runner.h"

namespace pq::rt::model {

std::vector<std::vector<int32_t>> token_sequences(const Tensor& input_ids, const std::optional<Tensor>& attention_mask) {
  if (is_floating(input_ids.dtype()) || input_ids.dim() < 1 || input_ids.dim() > 2) {
    throw std::invalid_argument("input_ids must be an integer tensor [batch, seq] or [seq], got " + std::string(dtype_name(input_ids.dtype())) +
                                " " + shape_to_string(input_ids.shape()));
  }
  const Tensor ids = input_ids.dim() == 1 ? input_ids.reshape({1, input_ids.size(0)}) : input_ids;
  if (attention_mask && attention_mask->shape() != input_ids.shape()) {
    throw std::invalid_argument("attention_mask has shape " + shape_to_string(attention_mask->shape()) + ", input_ids " +
                                shape_to_string(input_ids.shape()));
  }
  const std::vector<float> values = ids.to_float_vector();
  const std::vector<float> mask = attention_mask ? attention_mask->to_float_vector() : std::vector<float>(values.size(), 1.0f);
  std::vector<std::vector<int32_t>> out;
  const int64_t seq = ids.size(1);
  for (int64_t b = 0; b < ids.size(0); ++b) {
    std::vector<int32_t> s;
    for (int64_t j = 0; j < seq; ++j) {
      const size_t i = static_cast<size_t>(b * seq + j);
      if (mask[i] == 0.0f) {
        for (int64_t k = j; k < seq; ++k) {
          if (mask[static_cast<size_t>(b * seq + k)] != 0.0f) throw std::invalid_argument("attention_mask: only right padding is supported");
        }
        break;
      }
      s.push_back(static_cast<int32_t>(values[i]));
    }
    if (s.empty()) throw std::invalid_argument("sequence " + std::to_string(b) + " of input_ids has no tokens");
    out.push_back(std::move(s));
  }
  return out;
}

Tensor run_token_batch(nn::Model& model, const Device& device, const std::vector<std::vector<int32_t>>& sequences) {
  size_t seq = 0;
  for (const auto& s : sequences) seq = std::max(seq, s.size());
  const auto batch = static_cast<int64_t>(sequences.size());
  if (model.encoder) return EncoderRunner(model, device).last_hidden_state(sequences);
  if (!model.decoder) throw std::invalid_argument("token ids need a transformer model");
  DecoderRunner runner(model, device, static_cast<int64_t>(seq));
  const int64_t vocab = model.decoder->vocab_size;
  Tensor out = Tensor::zeros(DType::F32, {batch, static_cast<int64_t>(seq), vocab});
  for (size_t b = 0; b < sequences.size(); ++b) {
    std::vector<int32_t> rows(sequences[b].size());
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int32_t>(i);
    const Tensor logits = runner.logits(sequences[b], 0, rows);
    std::memcpy(out.data<float>() + static_cast<int64_t>(b * seq) * vocab, logits.data<float>(), logits.nbytes());
  }
  return out;
}

}  // namespace pq::rt::model
