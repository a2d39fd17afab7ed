// `portaquant embed MODEL_DIR --text TEXT...`: sentence embeddings of a BERT encoder
// (sentence-transformers' mean pooling + L2 normalisation), as JSON or safetensors.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/device.h"

namespace pq::cli {

struct EmbedArgs {
  std::filesystem::path model_dir;
  std::vector<std::string> texts;
  std::optional<std::filesystem::path> output;  // .safetensors; JSON on stdout otherwise
  std::string device = pq::rt::default_device_spec();
};

void run_embed(const EmbedArgs& args, std::ostream& out);

}  // namespace pq::cli
