// libFuzzer target for the GGUF reader and the GGUF -> Hugging Face conversion steps. Any input
// must either be rejected with pq::FormatError or be read completely: every tensor's bytes are
// touched, every dequantizable tensor dequantized, and the metadata is run through the config,
// tensor-name and tokenizer mapping (each of which may only fail with FormatError). Anything
// else (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "host/gguf/decoder_spec.h"
#include "host/gguf/dequantize.h"
#include "host/gguf/gguf_file.h"
#include "host/gguf/hf_tokenizer.h"
#include "host/gguf/hf_weights.h"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

uint64_t touch(std::span<const std::byte> bytes) {
  uint64_t checksum = 0;
  for (std::byte b : bytes) checksum = checksum * 31 + static_cast<uint8_t>(b);
  return checksum;
}

void read_tensors(const pq::gguf::GgufFile& file) {
  volatile uint64_t checksum = 0;
  for (const pq::gguf::GgufTensorInfo& tensor : file.tensors()) {
    const std::span<const std::byte> bytes = file.tensor_bytes(tensor);
    require(bytes.size() == tensor.nbytes);
    checksum = checksum + touch(bytes);
    if (!pq::gguf::can_dequantize(tensor.type)) continue;
    const pq::Tensor values = pq::gguf::dequantize_tensor(file, tensor);
    require(values.shape() == tensor.shape);
  }
}

// Each step may refuse the file with FormatError; nothing else may happen.
void map_to_hugging_face(const pq::gguf::GgufFile& file) {
  try {
    const pq::gguf::DecoderSpec spec = pq::gguf::read_decoder_spec(file);
    (void)pq::gguf::hf_config_json(spec, pq::DType::F32).dump();
    for (const pq::gguf::GgufTensorInfo& tensor : file.tensors()) {
      const pq::gguf::HfTensorTarget target = pq::gguf::hf_tensor_target(file, spec, tensor);
      require(target.shape == tensor.shape);
    }
    pq::gguf::check_all_tensors_present(file, spec);
  } catch (const pq::FormatError&) {
  }
  try {
    if (const auto tokenizer = pq::gguf::hf_tokenizer_files(file)) (void)tokenizer->tokenizer.dump();
  } catch (const pq::FormatError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  try {
    const pq::gguf::GgufFile file = pq::gguf::GgufFile::from_buffer(std::move(bytes), "fuzz-input");
    read_tensors(file);
    map_to_hugging_face(file);
  } catch (const pq::FormatError&) {
    // Rejecting malformed input is the expected outcome for most inputs.
  }
  return 0;
}
