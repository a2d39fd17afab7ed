#include "host/gguf/gguf_to_hf.h"

#include <stdexcept>
#include <vector>

#include "host/atomic_file.h"
#include "host/checkpoint.h"
#include "host/gguf/decoder_spec.h"
#include "host/gguf/dequantize.h"
#include "host/gguf/hf_tokenizer.h"
#include "host/gguf/hf_weights.h"
#include "host/staging_dir.h"

namespace pq::gguf {
namespace {

namespace fs = std::filesystem;

struct PlannedTensor {
  const GgufTensorInfo* source;
  HfTensorTarget target;
};

// Every tensor is mapped and checked before any is dequantized, so bad input fails fast.
std::vector<PlannedTensor> plan_tensors(const GgufFile& file, const DecoderSpec& spec) {
  check_all_tensors_present(file, spec);
  std::vector<PlannedTensor> plan;
  for (const GgufTensorInfo& tensor : file.tensors()) {
    if (!can_dequantize(tensor.type)) {
      file.fail_tensor(tensor.name, "ggml type " + ggml_type_name(tensor.type) + " cannot be dequantized (supported: " +
                                        dequantizable_type_names() + ")");
    }
    plan.push_back({&tensor, hf_tensor_target(file, spec, tensor)});
  }
  return plan;
}

Tensor convert_tensor(const GgufFile& file, const PlannedTensor& planned, DType dtype) {
  Tensor values = dequantize_tensor(file, *planned.source);
  if (planned.target.unpermute_heads > 0) values = unpermute_qk_rows(values, planned.target.unpermute_heads);
  return dtype == DType::F32 ? values : values.to(dtype);
}

void write_json(const fs::path& path, const nlohmann::ordered_json& json) { write_file_atomically(path, json.dump(2) + "\n"); }

void write_tokenizer(const fs::path& dir, const HfTokenizerFiles& files) {
  write_json(dir / "tokenizer.json", files.tokenizer);
  write_json(dir / "tokenizer_config.json", files.tokenizer_config);
  if (files.chat_template) write_file_atomically(dir / "chat_template.jinja", *files.chat_template);
}

}  // namespace

GgufConvertSummary convert_gguf_to_hf(const fs::path& gguf_path, const fs::path& output_dir, const GgufConvertOptions& options) {
  if (options.dtype != DType::F32 && options.dtype != DType::F16 && options.dtype != DType::BF16) {
    throw std::invalid_argument("convert: dtype " + std::string(dtype_name(options.dtype)) + " is not f32, f16 or bf16");
  }
  check_output_dir_free(output_dir, options.overwrite, {gguf_path});
  const GgufFile file = GgufFile::open(gguf_path);
  const DecoderSpec spec = read_decoder_spec(file);
  const std::vector<PlannedTensor> plan = plan_tensors(file, spec);
  const std::optional<HfTokenizerFiles> tokenizer = hf_tokenizer_files(file);

  GgufConvertSummary summary;
  summary.architecture = spec.architecture;
  summary.input_bytes = file.file_size();
  NamedTensors tensors;
  for (const PlannedTensor& planned : plan) {
    ++summary.ggml_types[ggml_type_name(planned.source->type)];
    tensors.emplace_back(planned.target.name, convert_tensor(file, planned, options.dtype));
    summary.output_bytes += tensors.back().second.nbytes();
    if (options.on_tensor_done) options.on_tensor_done({tensors.size(), plan.size(), planned.target.name});
  }
  summary.tensors = tensors.size();

  StagingDir staging(output_dir);
  save_checkpoint(staging.path(), tensors, {{"format", "pt"}}, options.max_shard_bytes);
  write_json(staging.path() / "config.json", hf_config_json(spec, options.dtype));
  write_json(staging.path() / "generation_config.json", hf_generation_config_json(spec));
  if (tokenizer) write_tokenizer(staging.path(), *tokenizer);
  summary.tokenizer = tokenizer.has_value();
  staging.publish_as(output_dir, options.overwrite);
  return summary;
}

}  // namespace pq::gguf
