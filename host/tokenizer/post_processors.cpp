// The post-processors of HF tokenizers (tokenizers/src/processors), for single sequences.
#include <map>

#include "host/tokenizer/component_factory.h"
#include "host/tokenizer/post_processor.h"

namespace pq::tok {
namespace {

using IdCheck = std::function<bool(int32_t)>;

int32_t checked_id(const JsonNode& node, const IdCheck& id_exists) {
  int32_t id = node.as_id();
  if (!id_exists(id)) node.fail("id " + std::to_string(id) + " is not in the vocabulary");
  return id;
}

class FixedWrap final : public PostProcessor {
 public:
  explicit FixedWrap(SpecialWrap wrap) : wrap_(std::move(wrap)) {}
  SpecialWrap single() const override { return wrap_; }

 private:
  SpecialWrap wrap_;
};

// {"sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}: cls A sep (BertProcessing, RobertaProcessing).
std::unique_ptr<PostProcessor> make_cls_sep(const JsonNode& node, const IdCheck& id_exists) {
  auto id_of = [&](std::string_view key) {
    JsonNode pair = node.at(key);
    if (pair.items() != 2) pair.fail("expected [token, id]");
    pair.at(size_t(0)).as_string();
    return checked_id(pair.at(size_t(1)), id_exists);
  };
  return std::make_unique<FixedWrap>(SpecialWrap{{id_of("cls")}, {id_of("sep")}});
}

// The "special_tokens" map of a template: name -> ids.
std::map<std::string, std::vector<int32_t>> read_special_tokens(const JsonNode& node,
                                                                const IdCheck& id_exists) {
  std::map<std::string, std::vector<int32_t>> specials;
  if (!node.json().is_object()) node.fail("expected an object");
  for (const auto& [name, value] : node.json().items()) {
    JsonNode entry(value, node.path() + "[\"" + name + "\"]", node.source());
    JsonNode ids = entry.at("ids"), tokens = entry.at("tokens");
    if (ids.items() != tokens.items()) entry.fail("'ids' and 'tokens' differ in length");
    std::vector<int32_t>& out = specials[name];
    for (size_t i = 0; i < ids.items(); ++i) {
      out.push_back(checked_id(ids.at(i), id_exists));
      tokens.at(i).as_string();
    }
  }
  return specials;
}

// A template is a list of {"Sequence": {"id": "A"|"B", "type_id": n}} and
// {"SpecialToken": {"id": name, "type_id": n}}. Returns what comes before and after the
// sequences, checking that `sequences` name them in this order.
SpecialWrap read_template(const JsonNode& list, const std::vector<std::string>& sequences,
                          const std::map<std::string, std::vector<int32_t>>& specials) {
  SpecialWrap wrap;
  size_t seen = 0;
  for (size_t i = 0; i < list.items(); ++i) {
    JsonNode item = list.at(i);
    if (auto seq = item.find("Sequence")) {
      std::string id = seq->at("id").as_string();
      if (seen >= sequences.size() || id != sequences[seen])
        seq->at("id").fail("unexpected sequence '" + id + "' in this template");
      ++seen;
    } else if (auto special = item.find("SpecialToken")) {
      std::string name = special->at("id").as_string();
      auto it = specials.find(name);
      if (it == specials.end()) special->at("id").fail("'" + name + "' is not in special_tokens");
      if (seen == 0) {
        wrap.prefix.insert(wrap.prefix.end(), it->second.begin(), it->second.end());
      } else if (seen == sequences.size()) {
        wrap.suffix.insert(wrap.suffix.end(), it->second.begin(), it->second.end());
      }
    } else {
      item.fail(R"(expected {"Sequence": ...} or {"SpecialToken": ...})");
    }
  }
  if (seen != sequences.size()) list.fail("the template must contain each sequence once");
  return wrap;
}

std::unique_ptr<PostProcessor> make_template(const JsonNode& node, const IdCheck& id_exists) {
  auto specials = node.has("special_tokens")
                      ? read_special_tokens(node.at("special_tokens"), id_exists)
                      : std::map<std::string, std::vector<int32_t>>{};
  SpecialWrap single = read_template(node.at("single"), {"A"}, specials);
  if (auto pair = node.find("pair")) read_template(*pair, {"A", "B"}, specials);
  return std::make_unique<FixedWrap>(std::move(single));
}

class Sequence final : public PostProcessor {
 public:
  Sequence(const JsonNode& node, const IdCheck& id_exists)
      : stages_(build_list<PostProcessor>(node, "processors", [&](const JsonNode& item) {
          return make_post_processor(item, id_exists);
        })) {}
  // Each processor wraps what the ones before it produced.
  SpecialWrap single() const override {
    SpecialWrap wrap;
    for (const auto& stage : stages_) {
      SpecialWrap outer = stage->single();
      outer.prefix.insert(outer.prefix.end(), wrap.prefix.begin(), wrap.prefix.end());
      wrap.suffix.insert(wrap.suffix.end(), outer.suffix.begin(), outer.suffix.end());
      wrap.prefix = std::move(outer.prefix);
    }
    return wrap;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> stages_;
};

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const JsonNode& node, const IdCheck& id_exists) {
  auto with_ids = [&](auto make) {
    return [&, make](const JsonNode& n) -> std::unique_ptr<PostProcessor> { return make(n, id_exists); };
  };
  return build_component<PostProcessor>(node, "post-processor", {
      {"TemplateProcessing", with_ids(make_template)},
      {"BertProcessing", with_ids(make_cls_sep)},
      {"RobertaProcessing", with_ids(make_cls_sep)},
      // ByteLevel only trims offsets, which encode() does not return.
      {"ByteLevel", [](const JsonNode&) -> std::unique_ptr<PostProcessor> {
         return std::make_unique<FixedWrap>(SpecialWrap{});
       }},
      {"Sequence", with_ids([](const JsonNode& n, const IdCheck& ids) -> std::unique_ptr<PostProcessor> {
         return std::make_unique<Sequence>(n, ids);
       })},
  });
}

}  // namespace pq::tok
