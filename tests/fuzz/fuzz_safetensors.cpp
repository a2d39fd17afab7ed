// libFuzzer target for the safetensors reader. Any input must either be rejected with
// pq::FormatError or load completely; whatever loads must survive a write and re-read
// unchanged. Anything else (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "host/safetensors.h"

namespace {

// Reads every byte and writes it back, so the sanitizers see any out-of-bounds view.
uint64_t touch_every_byte(pq::Tensor& tensor) {
  uint64_t checksum = 0;
  std::byte* bytes = tensor.raw_data();
  for (size_t i = 0; i < tensor.nbytes(); ++i) {
    checksum = checksum * 31 + static_cast<uint8_t>(bytes[i]);
    bytes[i] = bytes[i];
  }
  return checksum;
}

void require(bool condition) {
  if (!condition) std::abort();
}

void check_round_trip(const pq::SafetensorsFile& file, const pq::NamedTensors& loaded) {
  const pq::SafetensorsFile again =
      pq::SafetensorsFile::from_buffer(pq::serialize_safetensors(loaded, file.metadata()), "round-trip");
  require(again.metadata() == file.metadata());
  require(again.tensors().size() == loaded.size());
  for (const auto& [name, tensor] : loaded) {
    const pq::TensorInfo& info = again.info(name);
    require(info.dtype == tensor.dtype() && info.shape == tensor.shape());
    require(again.load(name).equal(tensor));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  try {
    const pq::SafetensorsFile file = pq::SafetensorsFile::from_buffer(std::move(bytes), "fuzz-input");
    pq::NamedTensors loaded;
    volatile uint64_t checksum = 0;
    for (const pq::TensorInfo& info : file.tensors()) {
      pq::Tensor tensor = file.load(info.name);
      require(tensor.dtype() == info.dtype && tensor.shape() == info.shape);
      require(tensor.nbytes() == info.end - info.begin);
      checksum = checksum + touch_every_byte(tensor);
      loaded.emplace_back(info.name, tensor);
    }
    check_round_trip(file, loaded);
  } catch (const pq::FormatError&) {
    // Rejecting malformed input is the expected outcome for most inputs.
  }
  return 0;
}
