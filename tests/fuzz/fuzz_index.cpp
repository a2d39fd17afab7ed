// libFuzzer target for model.safetensors.index.json: the input is written as the index of a
// directory that holds two small shards (model-00001-of-00002 with "a" and "b",
// model-00002-of-00002 with "c"), then opened, verified and every tensor loaded.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "host/checkpoint.h"
#include "host/errors.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;

fs::path fixture_dir() {
  static const fs::path dir = [] {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path d = base / ("pq-fuzz-index-" + std::to_string(::getpid()));
    fs::create_directories(d);
    const pq::Tensor t = pq::Tensor::zeros(pq::DType::F32, {2});
    pq::save_safetensors(d / "model-00001-of-00002.safetensors", {{"a", t}, {"b", t}});
    pq::save_safetensors(d / "model-00002-of-00002.safetensors", {{"c", t}});
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path index = fixture_dir() / pq::kCheckpointIndexFileName;
  std::ofstream(index, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    const pq::Checkpoint checkpoint = pq::Checkpoint::open(fixture_dir());
    checkpoint.verify();
    for (const std::string& name : checkpoint.names()) {
      const pq::Tensor t = checkpoint.load(name);
      pq::fuzz::require(t.shape() == checkpoint.info(name).shape);
    }
    (void)checkpoint.metadata();
  } catch (const pq::FormatError&) {
  }
  return 0;
}
