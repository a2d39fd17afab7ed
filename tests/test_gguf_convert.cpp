// GGUF -> Hugging Face conversion against transformers 5.24's own GGUF loading of the same
// files (fixtures from tests/make_gguf_fixtures.py): every tensor bit for bit, the config
// values, the tokenizer.json; malformed models refused by name; the CLI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "host/checkpoint.h"
#include "host/gguf/gguf_to_hf.h"
#include "host/safetensors.h"
#include "tests/test_support.h"

namespace pq::gguf {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void expect_tensors_match(const fs::path& dir, const std::string& fixture, DType dtype) {
  const Checkpoint ours = Checkpoint::open(dir);
  const SafetensorsFile expected = SafetensorsFile::open(test::fixture("gguf/" + fixture + "_expected.safetensors"));
  std::vector<std::string> expected_names;
  for (const TensorInfo& info : expected.tensors()) expected_names.push_back(info.name);
  std::sort(expected_names.begin(), expected_names.end());
  EXPECT_EQ(ours.names(), expected_names);
  for (const std::string& name : expected_names) {
    SCOPED_TRACE(name);
    const Tensor reference = expected.load(name);
    EXPECT_TRUE(test::same_bits(ours.load(name), dtype == DType::F32 ? reference : reference.to(dtype)));
  }
}

// Our transformers-4 style config.json carries the values transformers derived from the GGUF.
void expect_config_matches(const json& ours, const json& transformers, const std::string& hf_class) {
  for (const char* key : {"attention_bias", "bos_token_id", "eos_token_id", "head_dim", "hidden_act", "hidden_size",
                          "intermediate_size", "max_position_embeddings", "mlp_bias", "model_type", "num_attention_heads",
                          "num_hidden_layers", "num_key_value_heads", "pad_token_id", "rms_norm_eps", "tie_word_embeddings",
                          "unk_token_id", "vocab_size"}) {
    EXPECT_EQ(ours.value(key, json()), transformers.value(key, json())) << key;  // absent = null
  }
  EXPECT_EQ(ours.at("rope_theta"), transformers.at("rope_parameters").at("rope_theta"));
  EXPECT_EQ(ours.at("architectures"), json::array({hf_class}));
}

struct Converted {
  test::TempDir tmp;
  fs::path dir;
  GgufConvertSummary summary;
};

std::unique_ptr<Converted> convert_fixture(const std::string& name, DType dtype = DType::F32) {
  auto converted = std::make_unique<Converted>();
  converted->dir = converted->tmp / "model";
  GgufConvertOptions options;
  options.dtype = dtype;
  converted->summary = convert_gguf_to_hf(test::fixture("gguf/" + name + ".gguf"), converted->dir, options);
  return converted;
}

TEST(GgufConvert, TinyLlamaTensorsAreTransformersBitForBit) {
  const auto converted = convert_fixture("tiny_llama");
  expect_tensors_match(converted->dir, "tiny_llama", DType::F32);
  EXPECT_EQ(converted->summary.tensors, 30u);
  EXPECT_EQ(converted->summary.ggml_types.at("Q8_0"), 4u);  // token_embd + one projection per layer
  EXPECT_TRUE(converted->summary.tokenizer);
}

TEST(GgufConvert, TiedTinyLlamaHasNoLmHead) {
  const auto converted = convert_fixture("tiny_llama_tied");
  expect_tensors_match(converted->dir, "tiny_llama_tied", DType::F32);
  EXPECT_FALSE(Checkpoint::open(converted->dir).contains("lm_head.weight"));
  EXPECT_EQ(read_json(converted->dir / "config.json").at("tie_word_embeddings"), true);
}

TEST(GgufConvert, SentencePieceTinyLlamaTensorsAreTransformersBitForBit) {
  expect_tensors_match(convert_fixture("tiny_llama_spm")->dir, "tiny_llama_spm", DType::F32);
}

// Qwen2: q/k/v biases, and rows llama.cpp did not permute.
TEST(GgufConvert, TinyQwen2TensorsAreTransformersBitForBit) {
  const auto converted = convert_fixture("tiny_qwen2");
  expect_tensors_match(converted->dir, "tiny_qwen2", DType::F32);
  EXPECT_TRUE(Checkpoint::open(converted->dir).contains("model.layers.1.self_attn.k_proj.bias"));
}

TEST(GgufConvert, HalfPrecisionIsTheRoundedFloat32Conversion) {
  for (DType dtype : {DType::F16, DType::BF16}) {
    const auto converted = convert_fixture("tiny_llama", dtype);
    expect_tensors_match(converted->dir, "tiny_llama", dtype);
    EXPECT_EQ(read_json(converted->dir / "config.json").at("torch_dtype"), dtype == DType::F16 ? "float16" : "bfloat16");
  }
}

TEST(GgufConvert, ConfigCarriesTransformersValues) {
  for (const std::string name : {"tiny_llama", "tiny_llama_tied", "tiny_llama_spm", "tiny_qwen2"}) {
    SCOPED_TRACE(name);
    const auto converted = convert_fixture(name);
    const json ours = read_json(converted->dir / "config.json");
    const json transformers = read_json(test::fixture("gguf/" + name + "_config.json"));
    expect_config_matches(ours, transformers, name == "tiny_qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
    for (const char* key : {"max_window_layers", "sliding_window", "use_sliding_window"}) {
      EXPECT_EQ(ours.value(key, json()), transformers.value(key, json())) << key;
    }
    EXPECT_EQ(ours.at("torch_dtype"), "float32");
  }
}

// transformers' GGUF loader drops llama.rope.scaling.*; we keep it (hand-derived: linear, 4).
TEST(GgufConvert, RopeScalingIsCarriedOver) {
  EXPECT_EQ(read_json(convert_fixture("tiny_llama")->dir / "config.json").at("rope_scaling"), nullptr);
  const json scaling = read_json(convert_fixture("tiny_llama_tied")->dir / "config.json").at("rope_scaling");
  EXPECT_EQ(scaling, (json{{"factor", 4.0}, {"rope_type", "linear"}}));
}

// Byte-level BPE (with the llama-bpe split regex, and GPT-2's own) and SentencePiece BPE with
// merges recovered from the scores.
TEST(GgufConvert, TokenizerJsonIsTransformersOwn) {
  for (const std::string name : {"tiny_llama", "tiny_llama_tied", "tiny_llama_spm", "tiny_qwen2"}) {
    SCOPED_TRACE(name);
    const auto converted = convert_fixture(name);
    EXPECT_EQ(read_json(converted->dir / "tokenizer.json"), read_json(test::fixture("gguf/" + name + "_tokenizer.json")));
  }
}

TEST(GgufConvert, TokenizerConfigGenerationConfigAndChatTemplate) {
  const auto converted = convert_fixture("tiny_llama");
  const json config = read_json(converted->dir / "tokenizer_config.json");
  EXPECT_EQ(config.at("add_bos_token"), true);
  EXPECT_EQ(config.at("bos_token"), "<|im_start|>");
  EXPECT_EQ(config.at("eos_token"), "<|im_end|>");
  EXPECT_EQ(config.at("unk_token"), "<|endoftext|>");
  EXPECT_EQ(read_json(converted->dir / "generation_config.json"),
            (json{{"_from_model_config", true}, {"bos_token_id", 1}, {"eos_token_id", 2}, {"pad_token_id", 2}}));
  EXPECT_THAT(read_text(converted->dir / "chat_template.jinja"), HasSubstr("<|im_start|>{{ m['role'] }}"));
  EXPECT_FALSE(fs::exists(convert_fixture("tiny_llama_tied")->dir / "chat_template.jinja"));
  // llama.cpp adds BOS to a SentencePiece vocabulary whose file does not say otherwise.
  EXPECT_EQ(read_json(convert_fixture("tiny_llama_spm")->dir / "tokenizer_config.json").at("add_bos_token"), true);
}

// ---------------------------------------------------------------- malformed models

// The tiny tied model with the value of one metadata key (or one tensor name) patched in place.
std::vector<std::byte> patched_fixture(const std::string& after, const std::string& from, const std::string& to) {
  std::string bytes = read_text(test::fixture("gguf/tiny_llama_tied.gguf"));
  const size_t anchor = bytes.find(after);
  const size_t at = bytes.find(from, anchor);
  if (anchor == std::string::npos || at == std::string::npos || from.size() != to.size()) throw std::logic_error("bad patch");
  bytes.replace(at, from.size(), to);
  std::vector<std::byte> out(bytes.size());
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

std::string u32_bytes(uint32_t value) { return std::string(reinterpret_cast<const char*>(&value), 4); }

// Writes the bytes to a file, converts it and expects a FormatError containing `part`, with no
// output directory (and no staging directory) left behind.
void expect_refused(const std::vector<std::byte>& bytes, const std::string& part) {
  test::TempDir tmp;
  const fs::path input = tmp / "bad.gguf";
  std::ofstream(input, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  try {
    convert_gguf_to_hf(input, tmp / "out", {});
    ADD_FAILURE() << "no FormatError";
  } catch (const FormatError& error) {
    EXPECT_THAT(error.what(), HasSubstr(input.string()));
    EXPECT_THAT(error.what(), HasSubstr(part));
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1) << "left files behind";
}

TEST(GgufConvertErrors, UnsupportedArchitectureIsNamed) {
  expect_refused(patched_fixture("general.architecture", "llama", "bloom"), "architecture 'bloom' is not supported");
}

TEST(GgufConvertErrors, MissingTensorIsNamed) {
  expect_refused(patched_fixture("blk.0.ffn_up.weight", "ffn_up", "ffn_uq"), "tensor 'blk.0.ffn_up.weight': is missing");
}

TEST(GgufConvertErrors, ShapeAgainstMetadataIsChecked) {
  expect_refused(patched_fixture("llama.feed_forward_length", u32_bytes(128), u32_bytes(96)),
                 "the metadata implies [96, 64]");
}

// Found by fuzz_gguf: a huge block_count must fail on the first missing layer, not list them all.
TEST(GgufConvertErrors, HugeBlockCountFailsOnTheFirstMissingLayer) {
  expect_refused(patched_fixture("llama.block_count", u32_bytes(1), u32_bytes(0x7FFFFFFF)),
                 "tensor 'blk.1.attn_norm.weight': is missing");
}

TEST(GgufConvertErrors, UnsupportedTokenizerModelIsNamed) {
  expect_refused(patched_fixture("tokenizer.ggml.model", "gpt2", "bert"), "tokenizer model 'bert' is not supported");
}

TEST(GgufConvertErrors, MissingRequiredKeyIsNamed) {
  expect_refused(patched_fixture("llama.attention.layer_norm_rms_epsilon", "llama.attention.layer_norm_rms_epsilon",
                                 "llama.attention.layer_norm_rms_epsilom"),
                 "'llama.attention.layer_norm_rms_epsilon': is missing");
}

TEST(GgufConvertErrors, ExistingOutputIsRefusedWithoutOverwrite) {
  test::TempDir tmp;
  fs::create_directories(tmp / "out");
  EXPECT_THROW(convert_gguf_to_hf(test::fixture("gguf/tiny_llama_tied.gguf"), tmp / "out", {}), std::invalid_argument);
  GgufConvertOptions options;
  options.overwrite = true;
  convert_gguf_to_hf(test::fixture("gguf/tiny_llama_tied.gguf"), tmp / "out", options);
  EXPECT_TRUE(fs::exists(tmp / "out" / "model.safetensors"));
}

// ---------------------------------------------------------------- command line

struct CommandResult {
  int exit_code;
  std::string output;
};

CommandResult portaquant(const test::TempDir& tmp, const std::string& args) {
  const fs::path log = tmp / "cli.log";
  const int status = std::system((std::string(PORTAQUANT_CLI_PATH) + " " + args + " > " + log.string() + " 2>&1").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(log)};
}

TEST(GgufConvertCli, ConvertsRefusesASecondRunAndReplacesWithForce) {
  test::TempDir tmp;
  const std::string args = "convert " + test::fixture("gguf/tiny_llama.gguf").string() + " -o " + (tmp / "m").string();
  const CommandResult first = portaquant(tmp, args);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_THAT(first.output, HasSubstr("converting 30/30"));
  // the counts gguf-py reports for the fixture
  EXPECT_THAT(first.output, HasSubstr("converted llama: 30 tensors (3 F16, 7 F32, 4 Q4_0, 5 Q4_1, 4 Q5_0, 3 Q5_1, 4 Q8_0)"));
  expect_tensors_match(tmp / "m", "tiny_llama", DType::F32);
  const CommandResult again = portaquant(tmp, args);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.output, HasSubstr("--force"));
  const CommandResult forced = portaquant(tmp, args + " --force --dtype bf16");
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  expect_tensors_match(tmp / "m", "tiny_llama", DType::BF16);
}

TEST(GgufConvertCli, BadPathAndBadDtypeAreOneLineErrors) {
  test::TempDir tmp;
  const CommandResult missing = portaquant(tmp, "convert " + (tmp / "nope.gguf").string() + " -o " + (tmp / "m").string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("portaquant: error: cannot open " + (tmp / "nope.gguf").string()));
  const CommandResult dtype = portaquant(tmp, "convert " + test::fixture("gguf/tiny_llama.gguf").string() + " -o " +
                                                  (tmp / "m").string() + " --dtype f8");
  EXPECT_EQ(dtype.exit_code, 2);  // bad usage
  EXPECT_THAT(dtype.output, HasSubstr("--dtype: 'f8' is not one of f32, f16, bf16"));
  EXPECT_FALSE(fs::exists(tmp / "m"));
}

}  // namespace
}  // namespace pq::gguf
