// libFuzzer target for quanto_qmap.json: whatever parses must write back and parse to the same map.
#include <nlohmann/json.hpp>

#include "host/errors.h"
#include "host/quanto_qmap.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const pq::QuantizationMap qmap = pq::parse_qmap(pq::fuzz::text_of(data, size), "quanto_qmap.json");
    pq::QuantizationMap again;
    try {
      again = pq::parse_qmap(pq::qmap_to_json(qmap), "round-trip");
    } catch (const pq::FormatError&) {
      pq::fuzz::require(false);
    }
    pq::fuzz::require(again == qmap);
  } catch (const pq::FormatError&) {
  } catch (const nlohmann::json::exception&) {
    // qmap_to_json of a module name that is not valid UTF-8: the writer's refusal, not the parser's.
  }
  return 0;
}
