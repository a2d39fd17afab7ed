#include "host/model_dir_files.h"

#include <cctype>
#include <set>
#include <string>

#include "host/checkpoint.h"

namespace pq {
namespace fs = std::filesystem;

bool is_companion_entry(const fs::path& entry) {
  static const std::set<std::string> files = {
      "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
      "chat_template.jinja", "vocab.txt", "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json",
      "modules.json", "config_sentence_transformers.json", "sentence_bert_config.json"};
  const std::string name = entry.filename().string();
  if (fs::is_directory(entry)) {
    // sentence-transformers module folders: 1_Pooling, 2_Normalize, ...
    return name.size() > 2 && std::isdigit(static_cast<unsigned char>(name[0])) && name.find('_') != std::string::npos;
  }
  return files.count(name) != 0;
}

bool is_model_dir_entry(const fs::path& entry) {
  const std::string name = entry.filename().string();
  if (name == "config.json" || name == "quanto_qmap.json" || name == kSingleCheckpointFileName ||
      name == kCheckpointIndexFileName || is_shard_file_name(name)) {
    return !fs::is_directory(fs::symlink_status(entry));
  }
  return is_companion_entry(entry);
}

}  // namespace pq
