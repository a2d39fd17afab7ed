#include "cli/perplexity_command.h"

#include <cstdio>

#include "host/models/text_samples.h"
#include "host/nn/pretrained.h"
#include "runtime/model/perplexity.h"

namespace pq::cli {

void run_perplexity(const PerplexityArgs& args, std::ostream& out) {
  nn::Model model = nn::load_pretrained(args.model_dir);
  if (!model.decoder) throw std::invalid_argument(args.model_dir.string() + ": perplexity needs a decoder (LlamaForCausalLM, ...)");
  for (const auto& w : model.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  const tok::Tokenizer tokenizer = models::model_tokenizer(args.model_dir);
  const std::vector<int32_t> tokens = models::tokenize_file(tokenizer, args.text, true);
  rt::model::PerplexityOptions options;
  options.ctx = args.ctx;
  options.max_windows = args.max_windows;
  // llama.cpp puts BOS first in every window when the tokenizer adds one.
  if (const auto prefix = tokenizer.special_prefix(); !prefix.empty()) options.bos = prefix.front();
  rt::model::DecoderRunner runner(model, rt::Device::open(args.device), args.ctx);
  const rt::model::PerplexityResult r = rt::model::perplexity(runner, tokens, options, [](const rt::model::PerplexityProgress& p) {
    std::fprintf(stderr, "perplexity: window %lld/%lld, ppl %.4f, %.1f s\n", static_cast<long long>(p.window),
                 static_cast<long long>(p.windows), p.perplexity, p.seconds);
  });
  char line[256];
  std::snprintf(line, sizeof line,
                "perplexity: %.4f +/- %.4f over %lld tokens (%lld windows of %lld, second halves scored) on %s, %.1f tokens/s\n",
                r.perplexity, r.uncertainty, static_cast<long long>(r.scored_tokens), static_cast<long long>(r.windows),
                static_cast<long long>(args.ctx), runner.device().info().id().c_str(), r.tokens_per_second());
  out << line;
}

}  // namespace pq::cli
