// The forward of a BERT encoder (BertModel) over a right-padded batch as registry ops, with
// optimum-quanto's semantics for the quantized Linear and LayerNorm modules (a quantized
// LayerNorm output reaches the next Linear still quantized, with the LayerNorm's scale).
#pragma once

#include "host/nn/pretrained.h"
#include "runtime/model/quantized_modules.h"

namespace pq::rt::model {

// int32 inputs of a batch of B sequences padded to S tokens.
struct EncoderInputs {
  Value tokens;          // [B * S]
  Value positions;       // [B * S]: 0 .. S - 1 per sequence
  Value token_types;     // [B * S]
  Value lengths;         // [B]: real tokens per sequence (the attention mask)
  Value first_rows;      // [B]: b * S, the [CLS] rows (pooler)
  int64_t batch = 0, seq = 0;
};

// last_hidden_state [B, S, hidden] in the model's dtype. The pooler's dense layer runs too (so
// calibration sees it as quanto does); its tanh output is not computed.
Value encoder_forward(Executor& ex, nn::Model& model, const EncoderInputs& in, CalibrationState* calibration = nullptr);

}  // namespace pq::rt::model
