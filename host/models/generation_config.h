// generation_config.json next to a decoder: the tokens that end generation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "host/models/decoder_config.h"

namespace pq::models {

// eos_token_id of generation_config.json (one id or a list) when the file exists, else the
// config's; FormatError naming the file and key for a malformed value.
std::vector<int64_t> stop_token_ids(const std::filesystem::path& model_dir, const DecoderConfig& config);

}  // namespace pq::models
