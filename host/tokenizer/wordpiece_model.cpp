#include "host/tokenizer/wordpiece_model.h"

#include "host/tokenizer/utf8.h"

namespace pq::tok {

WordPieceModel::WordPieceModel(const JsonNode& node)
    : VocabModel(Vocab::from_json(node.at("vocab"))),
      unk_(id_named_by(node.at("unk_token"))),
      prefix_(node.string_or("continuing_subword_prefix", "##")),
      max_chars_(node.int_or("max_input_chars_per_word", 100)) {}

void WordPieceModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  if (int64_t(utf8::char_count(word)) > max_chars_) {
    ids.push_back(unk_);
    return;
  }
  size_t first_piece = ids.size();
  std::string candidate;
  for (size_t start = 0; start < word.size();) {
    // The longest vocabulary entry that starts here, shrinking one character at a time.
    size_t end = word.size();
    std::optional<int32_t> found;
    while (end > start) {
      candidate.assign(start > 0 ? prefix_ : std::string());
      candidate.append(word.substr(start, end - start));
      if ((found = vocab_.find(candidate))) break;
      do --end;
      while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
    }
    if (!found) {
      ids.resize(first_piece);
      ids.push_back(unk_);
      return;
    }
    ids.push_back(*found);
    start = end;
  }
}

}  // namespace pq::tok
