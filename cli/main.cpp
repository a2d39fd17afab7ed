// The portaquant command-line tool. Every failure ends in one line on stderr,
// "portaquant: error: ...", and exit code 2 for bad usage or 1 for anything else (cli_errors.h).
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <utility>

#include "cli/bench_command.h"
#include "cli/cli_errors.h"
#include "cli/convert_command.h"
#include "cli/device_commands.h"
#include "cli/embed_command.h"
#include "cli/generate_command.h"
#include "cli/inspect_command.h"
#include "cli/model_commands.h"
#include "cli/option_checks.h"
#include "cli/perplexity_command.h"
#include "cli/quantize_command.h"
#include "cli/version.h"
#include "host/interrupt_cleanup.h"
#include "host/mapped_file_guard.h"

namespace {

using pq::cli::one_of;
using pq::cli::qtype_spelling;

constexpr int64_t kMaxTokens = int64_t{1} << 24;

void add_inspect(CLI::App& app, pq::cli::InspectArgs& args) {
  auto* cmd = app.add_subcommand("inspect", "List the tensors, qtypes, totals and compression of a model file or directory");
  cmd->add_option("path", args.path, "a .safetensors file, an index .json, or a model directory")->required();
  cmd->add_flag("--json", args.json, "print one JSON object instead of the table");
  cmd->callback([&args] { pq::cli::run_inspect(args, std::cout); });
}

void add_quantize(CLI::App& app, pq::cli::QuantizeArgs& args) {
  auto* cmd = app.add_subcommand("quantize", "Quantize the weights of a float checkpoint into an optimum-quanto model directory");
  cmd->add_option("input", args.input, "a .safetensors file, an index .json, or a model directory")->required();
  cmd->add_option("-o,--output", args.output, "output model directory (must not exist unless --force)")->required();
  cmd->add_option("--weights", args.weights, "int2, int4, int8, float8, float8_e4m3fn, float8_e4m3fnuz or float8_e5m2 (model directories: also none)")
      ->check(qtype_spelling(true, false))
      ->capture_default_str();
  cmd->add_option("--optimizer", args.optimizer,
                  "absmax (8-bit), max, hqq (optimum-quanto's) or hqq-per-group (each group stops on its own; 2/4-bit); default absmax/max")
      ->check(one_of({"absmax", "max", "hqq", "hqq-per-group"}));
  cmd->add_option("--group-size", args.group_size, "2/4-bit group size (default: optimum-quanto's rule; 0 = per row)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--include", args.include, "only modules matching this shell pattern (repeatable)");
  cmd->add_option("--exclude", args.exclude, "skip modules matching this shell pattern (repeatable)");
  cmd->add_option("--threads", args.threads, "worker threads (0 = all cores)")->check(CLI::Range(0, 4096))->capture_default_str();
  cmd->add_flag("--force", args.force, "replace the output directory if it exists and holds only a model portaquant wrote");
  cmd->add_option("--activations", args.activations, "model directories: none, int8 or float8 (needs --calibration)")
      ->check(qtype_spelling(true, true))
      ->capture_default_str();
  cmd->add_option("--calibration", args.calibration, "nn.Sequential model directories: safetensors with calibration images");
  cmd->add_option("--calibration-text", args.calibration_text, "transformer model directories: a text file to calibrate on");
  cmd->add_option("--calibration-samples", args.calibration_samples, "calibration text: samples (one per forward)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--calibration-length", args.calibration_length, "calibration text: tokens per sample")
      ->check(CLI::Range(int64_t{1}, kMaxTokens))
      ->capture_default_str();
  cmd->add_option("--calibration-momentum", args.calibration_momentum, "EMA momentum of the output scales (quanto's default 0.9), in [0, 1)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--streamline", args.streamline,
                  "calibration's output-quantization pruning: quanto (what optimum-quanto 0.2.7 with torch >= 2.5 does), "
                  "designed, or off")
      ->check(one_of({"quanto", "designed", "off"}))
      ->capture_default_str();
  cmd->add_option("--device", args.device, "model directories: device to calibrate on")->capture_default_str();
  cmd->callback([&args] { pq::cli::run_quantize(args); });
}

void add_convert(CLI::App& app, pq::cli::ConvertArgs& args) {
  auto* cmd = app.add_subcommand("convert", "Convert a GGUF model (llama, qwen2) into a Hugging Face model directory");
  cmd->add_option("input", args.input, "a .gguf file")->required();
  cmd->add_option("-o,--output", args.output, "output model directory (must not exist unless --force)")->required();
  cmd->add_option("--dtype", args.dtype, "f32, f16 or bf16 (rounded to nearest even)")->check(one_of({"f32", "f16", "bf16"}))->capture_default_str();
  cmd->add_flag("--force", args.force, "replace the output directory if it exists and holds only a model portaquant wrote");
  cmd->callback([&args] { pq::cli::run_convert(args); });
}

void add_run(CLI::App& app, pq::cli::RunArgs& args) {
  auto* cmd = app.add_subcommand("run", "Run a model directory on one input tensor");
  cmd->add_option("model_dir", args.model_dir, "model directory (config.json + weights)")->required();
  cmd->add_option("--input", args.input,
                  "safetensors with a tensor 'input' (or a single tensor) of shape [batch, input_shape...] or input_shape; "
                  "transformer models: 'input_ids' [batch, seq] and optionally 'attention_mask'")
      ->required();
  cmd->add_option("--output", args.output,
                  "safetensors to write the tensor 'output' to (transformers: logits [batch, seq, vocab] of a decoder, "
                  "last_hidden_state of an encoder)")
      ->required();
  cmd->add_option("--device", args.device, "cpu, opencl[:N] or vulkan[:N]")->capture_default_str();
  cmd->callback([&args] { pq::cli::run_model(args, std::cout); });
}

void add_eval(CLI::App& app, pq::cli::EvalArgs& args) {
  auto* cmd = app.add_subcommand("eval", "Accuracy of a model directory on labelled data (images + labels)");
  cmd->add_option("model_dir", args.model_dir, "model directory (config.json + weights)")->required();
  cmd->add_option("--data", args.data, "safetensors with 'images' and 'labels'")->required();
  cmd->add_option("--device", args.device, "cpu, opencl[:N] or vulkan[:N]")->capture_default_str();
  cmd->add_option("--batch-size", args.batch_size, "images per forward")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  cmd->callback([&args] { pq::cli::run_eval(args, std::cout); });
}

void add_generate(CLI::App& app, pq::cli::GenerateArgs& args) {
  auto* cmd = app.add_subcommand("generate", "Generate text with a decoder (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
  cmd->add_option("model_dir", args.model_dir, "model directory (float, or quantized by portaquant or optimum-quanto)")->required();
  cmd->add_option("--prompt", args.prompt, "the text to continue")->required();
  cmd->add_option("-n,--max-new-tokens", args.max_new_tokens, "tokens to generate")->check(CLI::Range(int64_t{0}, kMaxTokens))->capture_default_str();
  cmd->add_option("--temperature", args.temperature, "0 = greedy; else sampling temperature")->check(CLI::Range(0.0f, 1000.0f))->capture_default_str();
  cmd->add_option("--top-k", args.top_k, "sample among the k most likely tokens (0 = all)")->check(CLI::Range(int64_t{0}, kMaxTokens))->capture_default_str();
  cmd->add_option("--top-p", args.top_p, "sample among the most likely tokens of this total probability")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
  cmd->add_option("--seed", args.seed, "random seed for sampling")->capture_default_str();
  cmd->add_option("--max-context", args.max_context, "KV cache length (default: prompt + new tokens)")->check(CLI::Range(int64_t{0}, kMaxTokens));
  cmd->add_flag("--ids", args.show_ids, "also print the generated token ids");
  cmd->add_option("--device", args.device, "cpu, opencl[:N], vulkan[:N] or auto")->capture_default_str();
  cmd->callback([&args] { pq::cli::run_generate(args, std::cout); });
}

void add_perplexity(CLI::App& app, pq::cli::PerplexityArgs& args) {
  auto* cmd = app.add_subcommand("perplexity", "Perplexity of a decoder on a text file (llama.cpp's method)");
  cmd->add_option("model_dir", args.model_dir, "model directory (float, or quantized by portaquant or optimum-quanto)")->required();
  cmd->add_option("--text", args.text, "the text file")->required();
  cmd->add_option("--ctx", args.ctx, "window length in tokens (the second half of each is scored)")->check(CLI::Range(int64_t{2}, kMaxTokens))->capture_default_str();
  cmd->add_option("--max-windows", args.max_windows, "stop after this many windows (0 = the whole text)")->check(CLI::Range(int64_t{0}, kMaxTokens))->capture_default_str();
  cmd->add_option("--device", args.device, "cpu, opencl[:N], vulkan[:N] or auto")->capture_default_str();
  cmd->callback([&args] { pq::cli::run_perplexity(args, std::cout); });
}

void add_embed(CLI::App& app, pq::cli::EmbedArgs& args) {
  auto* cmd = app.add_subcommand("embed", "Sentence embeddings of a BERT encoder (mean-pooled, L2-normalised)");
  cmd->add_option("model_dir", args.model_dir, "BERT or sentence-transformers model directory")->required();
  cmd->add_option("--text", args.texts, "a text to embed (repeatable, or several values)")->required();
  cmd->add_option("-o,--output", args.output, "write the embeddings to this .safetensors instead of JSON on stdout");
  cmd->add_option("--device", args.device, "cpu, opencl[:N], vulkan[:N] or auto")->capture_default_str();
  cmd->callback([&args] { pq::cli::run_embed(args, std::cout); });
}

void add_devices(CLI::App& app, bool& json) {
  auto* cmd = app.add_subcommand("devices", "List the devices and what they can do");
  cmd->add_flag("--json", json, "print one JSON object instead of the list");
  cmd->callback([&json] { pq::cli::run_devices(std::cout, json); });
}

void add_conformance(CLI::App& app, pq::cli::ConformanceArgs& args, int& exit_code) {
  auto* cmd = app.add_subcommand("conformance", "Run every op on every device and compare it with the CPU reference");
  cmd->add_option("--device", args.devices, "device to certify (repeatable; default: every OpenCL and Vulkan device)");
  cmd->add_option("--op", args.op_pattern, "shell pattern over op names")->capture_default_str();
  cmd->add_flag("--json", args.json, "print one JSON object instead of the table");
  cmd->add_flag("--default-tiers-only", args.default_tiers_only,
                "certify each device's default kernel tiers only (else also vulkan:N/baseline and its other tiers)");
  cmd->callback([&args, &exit_code] { exit_code = pq::cli::run_conformance_command(args, std::cout); });
}

void add_bench(CLI::App& app, pq::cli::BenchArgs& args) {
  auto* cmd = app.add_subcommand("bench", "Copy bandwidth, quantized and float GEMV/GEMM, W8A8 GEMM per device");
  cmd->add_option("--device", args.devices, "device to measure (repeatable; default: every OpenCL and Vulkan device)");
  cmd->add_option("--case", args.case_pattern, "shell pattern over case names")->capture_default_str();
  cmd->add_option("--json", args.json_path, "also write the results as JSON to this file");
  cmd->add_flag("--quick", args.quick, "smaller shapes (m=k=1024, GEMM n=64) instead of m=4096 k=14336 n=512");
  cmd->add_option("--model", args.model, "benchmark this decoder directory end to end instead (prompt and generation tokens/s)");
  cmd->add_option("-p,--prompt-tokens", args.prompt_tokens, "--model: prompt length (0 = skip)")->check(CLI::Range(int64_t{0}, kMaxTokens))->capture_default_str();
  cmd->add_option("-n,--gen-tokens", args.gen_tokens, "--model: generated tokens (0 = skip)")->check(CLI::Range(int64_t{0}, kMaxTokens))->capture_default_str();
  cmd->add_option("-r,--repetitions", args.repetitions, "repetitions per test (op cases: default 5)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str()
      ->each([&args](const std::string&) { args.repetitions_given = true; });
  cmd->add_option("--mode", args.mode, "op cases: hot (one weight copy), cold (copies past the LLC) or both")
      ->check(CLI::IsMember({"hot", "cold", "both"}))
      ->capture_default_str();
  cmd->add_flag("--cpu", args.include_cpu, "--model: also the CPU reference backend");
  cmd->callback([&args] { pq::cli::run_bench(args); });
}

int fail(std::string_view message, int code) {
  std::fputs(pq::cli::error_line(message).c_str(), stderr);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts: SIGINT/SIGTERM/SIGHUP remove staging directories and temporary
  // files; a file truncated under its memory map is an error line; a write past the file-size
  // limit fails with EFBIG (an error) instead of killing the process.
  pq::install_interrupt_cleanup();
  pq::install_mapped_file_fault_handler("portaquant: error: ", pq::cli::kExitBadInput);
  std::signal(SIGXFSZ, SIG_IGN);

  CLI::App app{"portaquant: optimum-quanto compatible quantization, run on OpenCL and Vulkan"};
  app.require_subcommand(1);
  app.set_version_flag("--version", pq::cli::version_text());
  pq::cli::InspectArgs inspect_args;
  pq::cli::QuantizeArgs quantize_args;
  pq::cli::ConformanceArgs conformance_args;
  pq::cli::BenchArgs bench_args;
  pq::cli::RunArgs run_args;
  pq::cli::EvalArgs eval_args;
  pq::cli::ConvertArgs convert_args;
  pq::cli::GenerateArgs generate_args;
  pq::cli::PerplexityArgs perplexity_args;
  pq::cli::EmbedArgs embed_args;
  bool devices_json = false;
  int exit_code = 0;
  add_inspect(app, inspect_args);
  add_quantize(app, quantize_args);
  add_convert(app, convert_args);
  add_generate(app, generate_args);
  add_perplexity(app, perplexity_args);
  add_embed(app, embed_args);
  add_devices(app, devices_json);
  add_conformance(app, conformance_args, exit_code);
  add_bench(app, bench_args);
  add_run(app, run_args);
  add_eval(app, eval_args);
  try {
    // CLI11 would only say that a subcommand is required.
    if (argc > 1 && argv[1][0] != '-') {
      std::string names;
      bool known = false;
      for (const CLI::App* cmd : std::as_const(app).get_subcommands([](const CLI::App*) { return true; })) {
        names += (names.empty() ? "" : ", ") + cmd->get_name();
        known = known || cmd->get_name() == argv[1];
      }
      if (!known) throw pq::cli::UsageError("unknown command '" + std::string(argv[1]) + "' (commands: " + names + ")");
    }
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return fail(std::string(e.what()) + " (see portaquant --help)", pq::cli::kExitBadUsage);
  } catch (const pq::cli::UsageError& e) {
    return fail(e.what(), pq::cli::kExitBadUsage);
  } catch (const std::exception& e) {
    return fail(e.what(), pq::cli::kExitBadInput);
  }
  return exit_code;
}
