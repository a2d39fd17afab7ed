// `portaquant convert FILE.gguf -o DIR`: a GGUF model to a Hugging Face model directory.
#pragma once

#include <filesystem>
#include <string>

namespace pq::cli {

struct ConvertArgs {
  std::filesystem::path input;
  std::filesystem::path output;
  std::string dtype = "f32";  // f32, f16 or bf16
  bool force = false;
};

void run_convert(const ConvertArgs& args);

}  // namespace pq::cli
