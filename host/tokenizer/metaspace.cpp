#include "host/tokenizer/metaspace.h"

#include "host/tokenizer/utf8.h"

namespace pq::tok {

MetaspaceOptions MetaspaceOptions::from_json(const JsonNode& node) {
  MetaspaceOptions o;
  if (auto r = node.find("replacement")) o.replacement = r->as_char();
  o.replacement_utf8 = utf8::encode(o.replacement);
  if (auto scheme = node.find("prepend_scheme")) {
    std::string name = scheme->as_string();
    if (name == "always") o.prepend_scheme = PrependScheme::Always;
    else if (name == "first") o.prepend_scheme = PrependScheme::First;
    else if (name == "never") o.prepend_scheme = PrependScheme::Never;
    else scheme->fail("unknown prepend_scheme '" + name + "' (supported: always, first, never)");
  } else {
    o.prepend_scheme = node.bool_or("add_prefix_space", true) ? PrependScheme::Always
                                                               : PrependScheme::Never;
  }
  o.split = node.bool_or("split", true);
  return o;
}

std::string MetaspaceOptions::encode(std::string_view text, bool at_start) const {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == ' ') out += replacement_utf8;
    else out += c;
  }
  bool prepend = prepend_scheme == PrependScheme::Always ||
                 (prepend_scheme == PrependScheme::First && at_start);
  if (prepend && out.compare(0, replacement_utf8.size(), replacement_utf8) != 0)
    out.insert(0, replacement_utf8);
  return out;
}

}  // namespace pq::tok
