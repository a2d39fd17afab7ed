#include "host/tokenizer/model.h"

#include "host/tokenizer/bpe_model.h"
#include "host/tokenizer/component_factory.h"
#include "host/tokenizer/vocab_model.h"
#include "host/tokenizer/wordlevel_model.h"
#include "host/tokenizer/wordpiece_model.h"

namespace pq::tok {

int32_t VocabModel::id_named_by(const JsonNode& node) const {
  std::string token = node.as_string();
  auto id = vocab_.find(token);
  if (!id) node.fail("token \"" + token + "\" is not in the vocabulary");
  return *id;
}

std::unique_ptr<Model> make_model(const JsonNode& node) {
  // Files written by old versions may leave out the type of a BPE model.
  if (!node.has("type") && node.has("merges")) return std::make_unique<BpeModel>(node);
  return build_component<Model>(node, "model", {
      {"BPE", builder_of<Model, BpeModel>()},
      {"WordPiece", builder_of<Model, WordPieceModel>()},
      {"WordLevel", builder_of<Model, WordLevelModel>()},
  });
}

}  // namespace pq::tok
