// Byte-pair encoding as HF's BPE model runs it: a word starts as its characters (with the
// continuing-subword prefix / end-of-word suffix where configured), unknown characters become
// byte tokens (byte_fallback) or the unknown token (fused when fuse_unk), and then the
// lowest-ranked adjacent pair is merged until no merge applies.
#pragma once

#include <array>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "host/tokenizer/vocab_model.h"

namespace pq::tok {

class BpeModel final : public VocabModel {
 public:
  explicit BpeModel(const JsonNode& node);
  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  // Words seen before, with their ids: text repeats its words, and merging costs far more
  // than a lookup. Bounded like HF's cache (10,000 words, each under 256 bytes).
  class WordCache {
   public:
    bool find(std::string_view word, std::vector<int32_t>& ids) const;
    void insert(std::string_view word, const int32_t* ids, size_t count);

   private:
    mutable std::shared_mutex mutex_;
    StringMap<std::vector<int32_t>> words_;
  };

  std::optional<int32_t> unk_;
  std::string prefix_;  // continuing_subword_prefix
  std::string suffix_;  // end_of_word_suffix
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::array<int32_t, 256> byte_tokens_{};  // the id of "<0xXX>", or -1
  std::unordered_map<uint64_t, Merge> merges_;
  mutable WordCache cache_;

  static uint64_t pair_key(int32_t left, int32_t right) {
    return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  }
  void read_merges(const JsonNode& list);
  void merge_word(std::string_view word, std::vector<int32_t>& ids) const;
};

}  // namespace pq::tok
