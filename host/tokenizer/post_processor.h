// Post-processors: what encode() adds around the ids of a single sequence when
// add_special_tokens is true. Built from the "post_processor" member. (Pairs of sequences are
// not encoded here; their templates are read and checked all the same.)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "host/tokenizer/json_node.h"

namespace pq::tok {

struct SpecialWrap {
  std::vector<int32_t> prefix;
  std::vector<int32_t> suffix;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual SpecialWrap single() const = 0;
};

// TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence; any other type
// throws FormatError. `id_exists` tells whether the tokenizer knows an id, so that a template
// naming an id it does not have is refused when the file is read.
std::unique_ptr<PostProcessor> make_post_processor(const JsonNode& node,
                                                   const std::function<bool(int32_t)>& id_exists);

}  // namespace pq::tok
