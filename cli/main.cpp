// The portaquant command-line tool. Every failure ends in one line on stderr and exit code 1.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/bench_command.h"
#include "cli/convert_command.h"
#include "cli/embed_command.h"
#include "cli/generate_command.h"
#include "cli/perplexity_command.h"
#include "cli/device_commands.h"
#include "cli/inspect_command.h"
#include "cli/model_commands.h"
#include "cli/quantize_command.h"

namespace {

void add_inspect(CLI::App& app, std::string& path) {
  auto* cmd = app.add_subcommand("inspect", "List the tensors, qtypes, totals and compression of a model file or directory");
  cmd->add_option("path", path, "a .safetensors file, an index .json, or a model directory")->required();
  cmd->callback([&path] { pq::cli::run_inspect(path, std::cout); });
}

void add_quantize(CLI::App& app, pq::cli::QuantizeArgs& args) {
  auto* cmd = app.add_subcommand("quantize", "Quantize the weights of a float checkpoint into an optimum-quanto model directory");
  cmd->add_option("input", args.input, "a .safetensors file, an index .json, or a model directory")->required();
  cmd->add_option("-o,--output", args.output, "output model directory (must not exist unless --force)")->required();
  cmd->add_option("--weights", args.weights, "int2, int4, int8, float8, float8_e4m3fn, float8_e4m3fnuz or float8_e5m2")
      ->capture_default_str();
  cmd->add_option("--optimizer", args.optimizer, "absmax (8-bit), max or hqq (2/4-bit); default absmax/max");
  cmd->add_option("--group-size", args.group_size, "2/4-bit group size (default: optimum-quanto's rule; 0 = per row)");
  cmd->add_option("--include", args.include, "only modules matching this shell pattern (repeatable)");
  cmd->add_option("--exclude", args.exclude, "skip modules matching this shell pattern (repeatable)");
  cmd->add_option("--threads", args.threads, "worker threads (0 = all cores)")->capture_default_str();
  cmd->add_flag("--force", args.force, "replace the output directory if it exists");
  cmd->add_option("--activations", args.activations, "model directories: none, int8 or float8 (needs --calibration)")
      ->capture_default_str();
  cmd->add_option("--calibration", args.calibration, "nn.Sequential model directories: safetensors with calibration images");
  cmd->add_option("--calibration-text", args.calibration_text, "transformer model directories: a text file to calibrate on");
  cmd->add_option("--calibration-samples", args.calibration_samples, "calibration text: samples (one per forward)")->capture_default_str();
  cmd->add_option("--calibration-length", args.calibration_length, "calibration text: tokens per sample")->capture_default_str();
  cmd->add_option("--calibration-momentum", args.calibration_momentum, "EMA momentum of the output scales (quanto's default 0.9)")
      ->capture_default_str();
  cmd->add_option("--streamline", args.streamline,
                  "calibration's output-quantization pruning: quanto (what optimum-quanto 0.2.7 with torch >= 2.5 does), "
                  "designed, or off")
      ->capture_default_str();
  cmd->add_option("--device", args.device, "model directories: device to calibrate on")->capture_default_str();
  cmd->callback([&args] { pq::cli::run_quantize(args); });
}

void add_convert(CLI::App& app, pq::cli::ConvertArgs& args) {
  auto* cmd = app.add_subcommand("convert", "Convert a GGUF model (llama, qwen2) into a Hugging Face model directory");
  cmd->add_option("input", args.input, "a .gguf file")->required();
  cmd->add_option("-o,--output", args.output, "output model directory (must not exist unless --force)")->required();
  cmd->add_option("--dtype", args.dtype, "f32, f16 or bf16 (rounded to nearest even)")->capture_default_str();
  cmd->add_flag("--force", args.force, "replace the output directory if it exists");
  cmd->callback([&args] { pq::cli::run_convert(args); });
}

void add_run(CLI::App& app, pq::cli::RunArgs& args) {
  auto* cmd = app.add_subcommand("run", "Run a model directory on one input tensor");
  cmd->add_option("model_dir", args.model_dir, "model directory (config.json + weights)")->required();
  cmd->add_option("--input", args.input,
                  "safetensors with a tensor 'input' (or a single tensor); transformer models: 'input_ids' [batch, seq] and "
                  "optionally 'attention_mask'")
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
  cmd->add_option("--batch-size", args.batch_size, "images per forward")->capture_default_str();
  cmd->callback([&args] { pq::cli::run_eval(args, std::cout); });
}

void add_generate(CLI::App& app, pq::cli::GenerateArgs& args) {
  auto* cmd = app.add_subcommand("generate", "Generate text with a decoder (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
  cmd->add_option("model_dir", args.model_dir, "model directory (float, or quantized by portaquant or optimum-quanto)")->required();
  cmd->add_option("--prompt", args.prompt, "the text to continue")->required();
  cmd->add_option("-n,--max-new-tokens", args.max_new_tokens, "tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", args.temperature, "0 = greedy; else sampling temperature")->capture_default_str();
  cmd->add_option("--top-k", args.top_k, "sample among the k most likely tokens (0 = all)")->capture_default_str();
  cmd->add_option("--top-p", args.top_p, "sample among the most likely tokens of this total probability")->capture_default_str();
  cmd->add_option("--seed", args.seed, "random seed for sampling")->capture_default_str();
  cmd->add_option("--max-context", args.max_context, "KV cache length (default: prompt + new tokens)");
  cmd->add_flag("--ids", args.show_ids, "also print the generated token ids");
  cmd->add_option("--device", args.device, "cpu, opencl[:N], vulkan[:N] or auto")->capture_default_str();
  cmd->callback([&args] { pq::cli::run_generate(args, std::cout); });
}

void add_perplexity(CLI::App& app, pq::cli::PerplexityArgs& args) {
  auto* cmd = app.add_subcommand("perplexity", "Perplexity of a decoder on a text file (llama.cpp's method)");
  cmd->add_option("model_dir", args.model_dir, "model directory (float, or quantized by portaquant or optimum-quanto)")->required();
  cmd->add_option("--text", args.text, "the text file")->required();
  cmd->add_option("--ctx", args.ctx, "window length in tokens (the second half of each is scored)")->capture_default_str();
  cmd->add_option("--max-windows", args.max_windows, "stop after this many windows (0 = the whole text)")->capture_default_str();
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

void add_devices(CLI::App& app) {
  auto* cmd = app.add_subcommand("devices", "List the devices and what they can do");
  cmd->callback([] { pq::cli::run_devices(std::cout); });
}

void add_conformance(CLI::App& app, pq::cli::ConformanceArgs& args, int& exit_code) {
  auto* cmd = app.add_subcommand("conformance", "Run every op on every device and compare it with the CPU reference");
  cmd->add_option("--device", args.devices, "device to certify (repeatable; default: every OpenCL and Vulkan device)");
  cmd->add_option("--op", args.op_pattern, "shell pattern over op names")->capture_default_str();
  cmd->callback([&args, &exit_code] { exit_code = pq::cli::run_conformance_command(args, std::cout); });
}

void add_bench(CLI::App& app, pq::cli::BenchArgs& args) {
  auto* cmd = app.add_subcommand("bench", "Copy bandwidth, quantized and float GEMV/GEMM, W8A8 GEMM per device");
  cmd->add_option("--device", args.devices, "device to measure (repeatable; default: every OpenCL and Vulkan device)");
  cmd->add_option("--case", args.case_pattern, "shell pattern over case names")->capture_default_str();
  cmd->add_option("--json", args.json_path, "also write the results as JSON to this file");
  cmd->add_flag("--quick", args.quick, "smaller shapes (m=k=1024, GEMM n=64) instead of m=4096 k=14336 n=512");
  cmd->add_option("--model", args.model, "benchmark this decoder directory end to end instead (prompt and generation tokens/s)");
  cmd->add_option("-p,--prompt-tokens", args.prompt_tokens, "--model: prompt length (0 = skip)")->capture_default_str();
  cmd->add_option("-n,--gen-tokens", args.gen_tokens, "--model: generated tokens (0 = skip)")->capture_default_str();
  cmd->add_option("-r,--repetitions", args.repetitions, "--model: repetitions per test")->capture_default_str();
  cmd->add_flag("--cpu", args.include_cpu, "--model: also the CPU reference backend");
  cmd->callback([&args] { pq::cli::run_bench(args); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"portaquant: optimum-quanto compatible quantization, run on OpenCL and Vulkan"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "portaquant 0.1.0");
  std::string inspect_path;
  pq::cli::QuantizeArgs quantize_args;
  pq::cli::ConformanceArgs conformance_args;
  pq::cli::BenchArgs bench_args;
  pq::cli::RunArgs run_args;
  pq::cli::EvalArgs eval_args;
  pq::cli::ConvertArgs convert_args;
  pq::cli::GenerateArgs generate_args;
  pq::cli::PerplexityArgs perplexity_args;
  pq::cli::EmbedArgs embed_args;
  int exit_code = 0;
  add_inspect(app, inspect_path);
  add_quantize(app, quantize_args);
  add_convert(app, convert_args);
  add_generate(app, generate_args);
  add_perplexity(app, perplexity_args);
  add_embed(app, embed_args);
  add_devices(app);
  add_conformance(app, conformance_args, exit_code);
  add_bench(app, bench_args);
  add_run(app, run_args);
  add_eval(app, eval_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portaquant: error: %s\n", e.what());
    return 1;
  }
  return exit_code;
}
