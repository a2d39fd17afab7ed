#include "cli/embed_command.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "host/models/sentence_embedding.h"
#include "host/models/text_samples.h"
#include "host/nn/pretrained.h"
#include "host/safetensors.h"
#include "runtime/model/encoder_runner.h"

namespace pq::cli {

void run_embed(const EmbedArgs& args, std::ostream& out) {
  if (args.texts.empty()) throw std::invalid_argument("--text: give at least one text to embed");
  nn::Model model = nn::load_pretrained(args.model_dir);
  if (!model.encoder) throw std::invalid_argument(args.model_dir.string() + ": embed needs a BERT encoder (BertModel, ...)");
  for (const auto& w : model.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  const tok::Tokenizer tokenizer = models::model_tokenizer(args.model_dir);
  const models::SentenceEmbeddingSetup setup = models::sentence_embedding_setup(args.model_dir, *model.encoder);
  std::vector<std::vector<int32_t>> batch;
  for (const auto& text : args.texts) batch.push_back(models::encode_truncated(tokenizer, text, setup.max_tokens));
  rt::model::EncoderRunner runner(model, rt::Device::open(args.device));
  const Tensor embeddings = runner.embeddings(batch);
  if (args.output) {
    save_safetensors(*args.output, {{"embeddings", embeddings}});
    std::fprintf(stderr, "embeddings %s written to %s (%s)\n", shape_to_string(embeddings.shape()).c_str(), args.output->string().c_str(),
                 runner.device().info().id().c_str());
    return;
  }
  const int64_t dim = embeddings.size(1);
  const std::vector<float> values = embeddings.to_float_vector();
  nlohmann::json j = {{"model", args.model_dir.string()}, {"device", runner.device().info().id()}, {"dim", dim}, {"embeddings", nlohmann::json::array()}};
  for (size_t i = 0; i < batch.size(); ++i) {
    j["embeddings"].push_back(std::vector<float>(values.begin() + static_cast<int64_t>(i) * dim, values.begin() + static_cast<int64_t>(i + 1) * dim));
  }
  out << j.dump() << "\n";
}

}  // namespace pq::cli
