// libFuzzer target for the nn.Sequential config.json: parsed and validated, every module's weight
// shape derived, and the layer-by-layer shape check run for a batch of two samples of the
// config's input_shape (which may refuse the chain of layers with std::invalid_argument).
#include <stdexcept>

#include "host/errors.h"
#include "host/json_fields.h"
#include "host/nn/config.h"
#include "host/nn/shape_check.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nlohmann::json config = pq::parse_json_text(pq::fuzz::text_of(data, size), "config.json");
    const std::unique_ptr<pq::nn::Module> root = pq::nn::build_from_config(config, "config.json");
    for (const auto& [name, module] : pq::nn::named_modules(static_cast<const pq::nn::Module&>(*root))) {
      const pq::Shape weight = pq::nn::expected_weight_shape(*module);
      pq::fuzz::require(pq::nn::checked_numel(weight).has_value());
      if (const auto bias = pq::nn::expected_bias_shape(*module)) pq::fuzz::require(!bias->empty());
    }
    if (config.contains("input_shape")) {
      pq::Shape input{2};
      for (const auto& d : config.at("input_shape")) input.push_back(d.get<int64_t>());
      try {
        pq::nn::check_forward_shapes(*root, input);
      } catch (const std::invalid_argument&) {
        // The layers do not fit each other or the input: refused before anything runs.
      }
    }
  } catch (const pq::FormatError&) {
  }
  return 0;
}
