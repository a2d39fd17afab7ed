#include "host/tokenizer/wordlevel_model.h"

namespace pq::tok {

WordLevelModel::WordLevelModel(const JsonNode& node)
    : VocabModel(Vocab::from_json(node.at("vocab"))), unk_(id_named_by(node.at("unk_token"))) {}

void WordLevelModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  ids.push_back(vocab_.find(word).value_or(unk_));
}

}  // namespace pq::tok
