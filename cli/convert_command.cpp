#include "cli/convert_command.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "cli/format.h"
#include "cli/progress.h"
#include "host/gguf/gguf_to_hf.h"

namespace pq::cli {
namespace {

DType output_dtype(const std::string& name) {
  if (name == "f32") return DType::F32;
  if (name == "f16") return DType::F16;
  if (name == "bf16") return DType::BF16;
  throw std::invalid_argument("--dtype: '" + name + "' is not f32, f16 or bf16");
}

std::string type_counts(const std::map<std::string, size_t>& types) {
  std::string text;
  for (const auto& [name, count] : types) text += (text.empty() ? "" : ", ") + std::to_string(count) + " " + name;
  return text;
}

}  // namespace

void run_convert(const ConvertArgs& args) {
  gguf::GgufConvertOptions options;
  options.dtype = output_dtype(args.dtype);
  options.overwrite = args.force;
  Progress progress("converting");
  progress.step(0, 0, args.input.string() + " to " + args.dtype);
  options.on_tensor_done = [&](const gguf::GgufConvertProgress& p) { progress.update(p.done, p.total, p.tensor); };
  const auto start = std::chrono::steady_clock::now();
  const gguf::GgufConvertSummary summary = gguf::convert_gguf_to_hf(args.input, args.output, options);
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "converted %s: %zu tensors (%s) from %s bytes to %s bytes of %s%s in %.2f s, written to %s\n",
               summary.architecture.c_str(), summary.tensors, type_counts(summary.ggml_types).c_str(),
               with_thousands(summary.input_bytes).c_str(), with_thousands(summary.output_bytes).c_str(), args.dtype.c_str(),
               summary.tokenizer ? " + tokenizer" : " (no tokenizer in the file)", seconds, args.output.string().c_str());
}

}  // namespace pq::cli
