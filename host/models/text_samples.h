// Token sequences cut from a text file, for calibration and perplexity: the file is read whole
// (bounded size), tokenized without special tokens, and cut into consecutive samples.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "host/tokenizer/tokenizer.h"

namespace pq::models {

// MODEL_DIR/tokenizer.json; a clear error when the model directory has none.
tok::Tokenizer model_tokenizer(const std::filesystem::path& model_dir);

// The file's text; errors name the file (missing, unreadable, larger than max_bytes).
std::string read_text_file(const std::filesystem::path& path, size_t max_bytes = size_t{256} << 20);

// The file's tokens (no special tokens added); an encoding error names the file.
std::vector<int32_t> tokenize_file(const tok::Tokenizer& tokenizer, const std::filesystem::path& path,
                                   bool add_special_tokens);

// `samples` consecutive sequences of `length` tokens from the start of the file's tokens
// (add_special_tokens false), as quanto calibration batches; throws when the text is too short.
std::vector<std::vector<int32_t>> calibration_samples(const tok::Tokenizer& tokenizer, const std::filesystem::path& path,
                                                      int64_t samples, int64_t length);

}  // namespace pq::models
