#include "cli/generate_command.h"

#include <cstdio>

#include "host/models/generation_config.h"
#include "host/models/text_samples.h"
#include "host/nn/pretrained.h"
#include "host/tokenizer/stream_decoder.h"
#include "runtime/model/generate.h"

namespace pq::cli {

void run_generate(const GenerateArgs& args, std::ostream& out) {
  nn::Model model = nn::load_pretrained(args.model_dir);
  if (!model.decoder) throw std::invalid_argument(args.model_dir.string() + ": generate needs a decoder (LlamaForCausalLM, ...)");
  for (const auto& w : model.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  const tok::Tokenizer tokenizer = models::model_tokenizer(args.model_dir);
  const std::vector<int32_t> prompt = tokenizer.encode(args.prompt, true);
  rt::model::GenerationOptions options;
  options.max_new_tokens = args.max_new_tokens;
  options.sampling = {args.temperature, args.top_k, args.top_p, args.seed};
  options.stop_tokens = models::stop_token_ids(args.model_dir, *model.decoder);
  rt::model::check_sampling(options.sampling);
  const int64_t context = args.max_context > 0 ? args.max_context : static_cast<int64_t>(prompt.size()) + args.max_new_tokens;
  rt::model::DecoderRunner runner(model, rt::Device::open(args.device), context);
  tok::StreamDecoder stream(tokenizer, true);
  std::vector<int32_t> generated;
  out << args.prompt << std::flush;
  bool warned = false;
  const rt::model::GenerationStats stats = rt::model::generate(runner, prompt, options, [&](int32_t id) {
    generated.push_back(id);
    // A model whose embedding table is larger than the tokenizer (Qwen2 pads it) may produce an
    // id the tokenizer has no text for: transformers' decode drops it, and so does the stream.
    if (id >= tokenizer.vocab_size()) {
      if (!warned) std::fprintf(stderr, "\nwarning: token id %d has no text in the tokenizer (dropped)\n", id);
      warned = true;
      return;
    }
    out << stream.push(id) << std::flush;
  });
  out << stream.flush() << std::endl;
  if (args.show_ids) {
    out << "ids:";
    for (int32_t id : generated) out << " " << id;
    out << "\n";
  }
  const rt::model::DeviceMemory memory = runner.memory();
  std::fprintf(stderr,
               "prompt: %lld tokens, %.1f tokens/s; generation: %lld tokens, %.1f tokens/s (%s; device memory: weights %.1f MiB, "
               "KV cache %.1f MiB, plan scratch %.1f MiB)\n",
               static_cast<long long>(stats.prompt_tokens), stats.prompt_tokens_per_second(),
               static_cast<long long>(stats.generated_tokens), stats.generation_tokens_per_second(),
               runner.device().info().id().c_str(), memory.weights / 1048576.0, memory.kv_cache / 1048576.0, memory.scratch / 1048576.0);
}

}  // namespace pq::cli
