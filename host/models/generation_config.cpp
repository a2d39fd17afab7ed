#include "host/models/generation_config.h"

#include "host/json_fields.h"

namespace pq::models {

std::vector<int64_t> stop_token_ids(const std::filesystem::path& model_dir, const DecoderConfig& config) {
  const std::filesystem::path path = model_dir / "generation_config.json";
  if (!std::filesystem::exists(path)) return config.eos_token_ids;
  const nlohmann::json j = read_json_file(path.string());
  const JsonFields f(j, path.string());
  if (!f.has("eos_token_id")) return config.eos_token_ids;
  return f.integers("eos_token_id", 0, config.vocab_size - 1);
}

}  // namespace pq::models
