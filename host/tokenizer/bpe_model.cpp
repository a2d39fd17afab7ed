#include "host/tokenizer/bpe_model.h"

#include <cstdio>
#include <mutex>
#include <queue>

#include "host/tokenizer/utf8.h"

namespace pq::tok {
namespace {

constexpr size_t kCacheCapacity = 10'000;
constexpr size_t kCacheMaxWordBytes = 256;

// One symbol of a word being merged, in a doubly linked list over the initial positions.
struct Symbol {
  int32_t id;
  int32_t prev;  // -1: none
  int32_t next;  // -1: none
  bool removed;
};

struct Candidate {
  int32_t rank;
  int32_t pos;  // the left symbol
  int32_t merged;
  // std::priority_queue keeps the largest on top: rank first, then the leftmost position.
  bool operator<(const Candidate& o) const {
    return rank != o.rank ? rank > o.rank : pos > o.pos;
  }
};

}  // namespace

BpeModel::BpeModel(const JsonNode& node) : VocabModel(Vocab::from_json(node.at("vocab"))) {
  if (auto dropout = node.find("dropout")) {
    if (!dropout->json().is_number() || dropout->json().get<double>() != 0.0)
      dropout->fail("only null (no dropout) is supported: encoding must be deterministic");
  }
  if (auto unk = node.find("unk_token")) unk_ = id_named_by(*unk);
  prefix_ = node.string_or("continuing_subword_prefix", "");
  suffix_ = node.string_or("end_of_word_suffix", "");
  fuse_unk_ = node.bool_or("fuse_unk", false);
  byte_fallback_ = node.bool_or("byte_fallback", false);
  ignore_merges_ = node.bool_or("ignore_merges", false);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_tokens_[size_t(b)] = vocab_.find(name).value_or(-1);
  }
  read_merges(node.at("merges"));
}

void BpeModel::read_merges(const JsonNode& list) {
  size_t count = list.items();
  merges_.reserve(count);
  for (size_t rank = 0; rank < count; ++rank) {
    JsonNode entry = list.at(rank);
    std::string left, right;
    if (entry.json().is_string()) {  // "left right", the format of merges.txt
      std::string text = entry.as_string();
      size_t space = text.find(' ');
      if (space == std::string::npos) entry.fail("a merge \"a b\" needs a space");
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else {
      if (entry.items() != 2) entry.fail("a merge [a, b] needs two strings");
      left = entry.at(size_t(0)).as_string();
      right = entry.at(size_t(1)).as_string();
    }
    auto left_id = vocab_.find(left), right_id = vocab_.find(right);
    if (!left_id || !right_id)
      entry.fail("\"" + (left_id ? right : left) + "\" is not in the vocabulary");
    // The merged token drops the right part's continuing-subword prefix (as HF, which cuts
    // that many bytes whether or not they are the prefix).
    if (right.size() < prefix_.size()) entry.fail("\"" + right + "\" is shorter than the prefix");
    std::string merged = left + right.substr(prefix_.size());
    auto merged_id = vocab_.find(merged);
    if (!merged_id) entry.fail("the merged token \"" + merged + "\" is not in the vocabulary");
    // A pair listed twice keeps its last rank, as HF's map does.
    merges_[pair_key(*left_id, *right_id)] = {int32_t(rank), *merged_id};
  }
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  if (ignore_merges_) {
    if (auto id = vocab_.find(word)) {
      ids.push_back(*id);
      return;
    }
  }
  if (cache_.find(word, ids)) return;
  size_t first = ids.size();
  merge_word(word, ids);
  if (word.size() < kCacheMaxWordBytes) cache_.insert(word, ids.data() + first, ids.size() - first);
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& ids) const {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](int32_t id) {
    int32_t pos = int32_t(symbols.size());
    symbols.push_back({id, pos - 1, -1, false});
    if (pos > 0) symbols[size_t(pos - 1)].next = pos;
  };
  // The unknown characters waiting to become one unknown token (fuse_unk) or one each.
  bool pending_unk = false;
  std::string piece;
  size_t i = 0;
  while (i < word.size()) {
    size_t begin = i;
    i += utf8::sequence_length(static_cast<unsigned char>(word[i]));
    piece.assign(begin > 0 ? prefix_ : std::string());
    piece.append(word.substr(begin, i - begin));
    if (i == word.size()) piece += suffix_;
    if (auto id = vocab_.find(piece)) {
      if (pending_unk) add(*unk_);
      pending_unk = false;
      add(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (char c : piece) all_bytes = all_bytes && byte_tokens_[static_cast<uint8_t>(c)] >= 0;
      if (all_bytes) {
        // As HF: byte tokens go in at once, before an unknown token still pending.
        for (char c : piece) add(byte_tokens_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (unk_) {
      if (pending_unk && !fuse_unk_) add(*unk_);
      pending_unk = true;
    }
  }
  if (pending_unk) add(*unk_);

  std::priority_queue<Candidate> queue;
  auto push_pair = [&](int32_t pos) {
    int32_t next = symbols[size_t(pos)].next;
    if (next < 0) return;
    auto it = merges_.find(pair_key(symbols[size_t(pos)].id, symbols[size_t(next)].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.merged});
  };
  for (int32_t pos = 0; pos + 1 < int32_t(symbols.size()); ++pos) push_pair(pos);
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[size_t(top.pos)];
    if (left.removed || left.next < 0) continue;
    // Skip entries made stale by an earlier merge: the pair here must still merge into the
    // same token (HF compares the merged id only, and so does this).
    Symbol& right = symbols[size_t(left.next)];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.merged != top.merged) continue;
    left.id = top.merged;
    right.removed = true;
    left.next = right.next;
    if (right.next >= 0) symbols[size_t(right.next)].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (const Symbol& s : symbols)
    if (!s.removed) ids.push_back(s.id);
}

bool BpeModel::WordCache::find(std::string_view word, std::vector<int32_t>& ids) const {
  std::shared_lock lock(mutex_);
  auto it = words_.find(word);
  if (it == words_.end()) return false;
  ids.insert(ids.end(), it->second.begin(), it->second.end());
  return true;
}

void BpeModel::WordCache::insert(std::string_view word, const int32_t* ids, size_t count) {
  std::unique_lock lock(mutex_);
  if (words_.size() >= kCacheCapacity) return;
  words_.emplace(std::string(word), std::vector<int32_t>(ids, ids + count));
}

}  // namespace pq::tok
