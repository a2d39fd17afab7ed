// libFuzzer target for our safetensors __metadata__["portaquant"] record: whatever parses must
// describe weights whose group layout can be derived, and write back to the same records.
#include <nlohmann/json.hpp>

#include "host/errors.h"
#include "host/quanto_state_dict.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const std::map<std::string, std::string> metadata{{pq::kPortaquantMetadataKey, pq::fuzz::text_of(data, size)}};
    const pq::WeightRecords records = pq::weight_records_from_metadata(metadata, "model.safetensors");
    for (const auto& [module, record] : records) {
      (void)pq::resolve_group_size(record.shape, record.qtype, record.group_size);
    }
    std::string written;
    try {
      written = pq::weight_records_to_json(records);
    } catch (const nlohmann::json::exception&) {
      return 0;  // a module name that is not valid UTF-8 cannot be written back
    }
    const pq::WeightRecords again = pq::weight_records_from_metadata({{pq::kPortaquantMetadataKey, written}}, "round-trip");
    pq::fuzz::require(again.size() == records.size());
    for (const auto& [module, record] : records) {
      const pq::WeightRecord& r = again.at(module);
      pq::fuzz::require(r.qtype == record.qtype && r.shape == record.shape && r.group_size == record.group_size &&
                        r.optimizer == record.optimizer);
    }
  } catch (const pq::FormatError&) {
  }
  return 0;
}
