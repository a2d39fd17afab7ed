// GGUF tensor names (llama.cpp's: token_embd, blk.N.attn_q, ...) mapped onto the Hugging Face
// parameter names of a Llama-family model (model.embed_tokens, model.layers.N.self_attn.q_proj,
// ...), with the shape each must have, and the undoing of the row permutation llama.cpp applies
// to q_proj/k_proj (the same reverse permutation as transformers' GGUF loader).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/gguf/decoder_spec.h"
#include "host/gguf/gguf_file.h"
#include "host/tensor.h"

namespace pq::gguf {

struct HfTensorTarget {
  std::string name;        // the Hugging Face parameter name
  Shape shape;             // row-major, as the Hugging Face model holds it
  int64_t unpermute_heads;  // > 0: undo llama.cpp's q/k row permutation over this many heads
};

// FormatError naming the file and the tensor for a tensor this architecture does not have, or
// one whose shape does not match the metadata.
HfTensorTarget hf_tensor_target(const GgufFile& file, const DecoderSpec& spec, const GgufTensorInfo& tensor);

// FormatError naming the first tensor the model needs that the file lacks.
void check_all_tensors_present(const GgufFile& file, const DecoderSpec& spec);

// llama.cpp stores q/k rows as w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2); this
// is the inverse: w.reshape(n_head, rows/n_head/2, 2, cols).swapaxes(1, 2). Returns a new
// contiguous tensor; rows must be a multiple of 2 * n_head.
Tensor unpermute_qk_rows(const Tensor& weight, int64_t n_head);

}  // namespace pq::gguf
