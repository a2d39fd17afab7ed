// What the factories of every stage share: pick the class named by a component's "type" (and
// refuse an unknown one, listing the known ones), and build the list of a "Sequence".
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "host/tokenizer/json_node.h"

namespace pq::tok {

template <class Base>
using ComponentBuilder = std::function<std::unique_ptr<Base>(const JsonNode&)>;

// A builder of Derived, which is constructed from the component's node or, having no options,
// by default.
template <class Base, class Derived>
ComponentBuilder<Base> builder_of() {
  return [](const JsonNode& node) -> std::unique_ptr<Base> {
    if constexpr (std::is_constructible_v<Derived, const JsonNode&>) return std::make_unique<Derived>(node);
    else return std::make_unique<Derived>();
  };
}

// `kind` names the stage in messages ("normalizer", "decoder", ...).
template <class Base>
std::unique_ptr<Base> build_component(
    const JsonNode& node, std::string_view kind,
    std::initializer_list<std::pair<std::string_view, ComponentBuilder<Base>>> builders) {
  std::string type = node.type();
  std::string supported;
  for (const auto& [name, build] : builders) {
    if (name == type) return build(node);
    supported += (supported.empty() ? "" : ", ") + std::string(name);
  }
  node.at("type").fail("unsupported " + std::string(kind) + " '" + type + "' (supported: " +
                       supported + ")");
}

// The components listed in node[key], each built by make(element).
template <class Base, class Make>
std::vector<std::unique_ptr<Base>> build_list(const JsonNode& node, std::string_view key, Make&& make) {
  JsonNode list = node.at(key);
  std::vector<std::unique_ptr<Base>> out;
  for (size_t i = 0; i < list.items(); ++i) out.push_back(make(list.at(i)));
  return out;
}

}  // namespace pq::tok
