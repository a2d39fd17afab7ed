// The text of one encode() call on its way through the pipeline: HF's PreTokenizedString
// without offsets. Added tokens are cut out first and carry their id; every other piece is
// normalised, pre-tokenised into smaller pieces, and finally handed to the model.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pq::tok {

struct Piece {
  std::string text;
  // Whether the piece begins at offset 0 of the caller's text (Metaspace's prepend_scheme
  // "first" asks). Tracked at piece granularity: a piece cut at a later byte of a normalised
  // piece counts as not at the start.
  bool at_start = false;
  int32_t added_token = -1;  // the id when the piece is an added token

  bool is_added_token() const { return added_token >= 0; }
};

using Pieces = std::vector<Piece>;

// A cut of a piece's text: [begin, end) in bytes.
struct Cut {
  size_t begin;
  size_t end;
};

// Replaces every piece that is not an added token by the cuts fn(piece.text) returns, keeping
// only non-empty ones, as PreTokenizedString::split does.
template <class Fn>
void split_pieces(Pieces& pieces, Fn&& fn) {
  Pieces result;
  result.reserve(pieces.size());
  for (Piece& piece : pieces) {
    if (piece.is_added_token()) {
      result.push_back(std::move(piece));
      continue;
    }
    for (const Cut& cut : fn(std::as_const(piece.text))) {
      if (cut.end <= cut.begin) continue;
      result.push_back({piece.text.substr(cut.begin, cut.end - cut.begin),
                        piece.at_start && cut.begin == 0, -1});
    }
  }
  pieces = std::move(result);
}

// Rewrites the text of every piece that is not an added token in place.
template <class Fn>
void transform_pieces(Pieces& pieces, Fn&& fn) {
  for (Piece& piece : pieces)
    if (!piece.is_added_token()) fn(piece);
}

}  // namespace pq::tok
