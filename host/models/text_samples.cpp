#include "host/models/text_samples.h"

#include <fstream>
#include <stdexcept>
#include <system_error>

namespace pq::models {

tok::Tokenizer model_tokenizer(const std::filesystem::path& model_dir) {
  const std::filesystem::path path = model_dir / "tokenizer.json";
  if (!std::filesystem::exists(path)) {
    throw std::invalid_argument(path.string() + ": missing (text commands need the model's Hugging Face tokenizer.json)");
  }
  return tok::Tokenizer::from_file(path);
}

std::string read_text_file(const std::filesystem::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::system_error(errno, std::generic_category(), path.string() + ": cannot open");
  std::string text;
  char chunk[65536];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes) throw std::invalid_argument(path.string() + ": larger than " + std::to_string(max_bytes >> 20) + " MiB");
  }
  return text;
}

std::vector<int32_t> tokenize_file(const tok::Tokenizer& tokenizer, const std::filesystem::path& path, bool add_special_tokens) {
  const std::string text = read_text_file(path);
  try {
    return tokenizer.encode(text, add_special_tokens);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(path.string() + ": " + e.what());
  }
}

std::vector<std::vector<int32_t>> calibration_samples(const tok::Tokenizer& tokenizer, const std::filesystem::path& path,
                                                      int64_t samples, int64_t length) {
  if (samples < 1) throw std::invalid_argument("--calibration-samples must be >= 1, got " + std::to_string(samples));
  if (length < 1) throw std::invalid_argument("--calibration-length must be >= 1, got " + std::to_string(length));
  const std::vector<int32_t> ids = tokenize_file(tokenizer, path, false);
  if (static_cast<int64_t>(ids.size()) < samples * length) {
    throw std::invalid_argument(path.string() + ": " + std::to_string(ids.size()) + " tokens, fewer than " + std::to_string(samples) +
                                " samples × " + std::to_string(length) + " tokens (--calibration-samples, --calibration-length)");
  }
  std::vector<std::vector<int32_t>> out;
  for (int64_t i = 0; i < samples; ++i) out.emplace_back(ids.begin() + i * length, ids.begin() + (i + 1) * length);
  return out;
}

}  // namespace pq::models
