// libFuzzer target for Hugging Face config.json files of decoders (Llama, Mistral, Qwen2) and
// BERT encoders: the architecture is recognised, the config parsed and validated, described as
// `inspect` does, and its module tree built (no weights).
#include "host/errors.h"
#include "host/json_fields.h"
#include "host/models/architecture.h"
#include "host/models/bert_config.h"
#include "host/models/bert_model.h"
#include "host/models/decoder_config.h"
#include "host/models/decoder_model.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nlohmann::json config = pq::parse_json_text(pq::fuzz::text_of(data, size), "config.json");
    switch (pq::models::model_kind(config, "config.json")) {
      case pq::models::ModelKind::Sequential:
        break;
      case pq::models::ModelKind::Decoder: {
        const pq::models::DecoderConfig c = pq::models::parse_decoder_config(config, "config.json");
        pq::fuzz::require(c.num_heads > 0 && c.head_dim > 0 && c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0);
        (void)pq::models::build_decoder(c);
        break;
      }
      case pq::models::ModelKind::Encoder: {
        const pq::models::BertConfig c = pq::models::parse_bert_config(config, "config.json");
        (void)pq::models::build_bert(c, true);
        break;
      }
    }
    (void)pq::models::describe_architecture(config, "config.json");
  } catch (const pq::FormatError&) {
  }
  return 0;
}
