// The command line's contract, run as a user runs it: one error line "portaquant: error: ..."
// with exit code 2 for bad usage and 1 for bad input; output that a file cannot forge; --version
// and --json; outputs that appear complete or not at all.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "host/safetensors.h"
#include "tests/test_support.h"

namespace pq {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
namespace fs = std::filesystem;

const fs::path kMlp = fs::path(PORTAQUANT_SOURCE_DIR) / "examples/models/digits_mlp";
const fs::path kData = fs::path(PORTAQUANT_SOURCE_DIR) / "examples/data";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct CliRun {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the CLI through sh with `prefix` before it (ulimit, timeout), stdout and stderr apart.
CliRun run_cli(const std::string& args, const std::string& prefix = "") {
  test::TempDir streams;
  const std::string command = prefix + " " + std::string(PORTAQUANT_CLI_PATH) + " " + args + " > " + (streams / "out").string() +
                              " 2> " + (streams / "err").string();
  const int status = std::system(("sh -c '" + command + "'").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(streams / "out"), read_text(streams / "err")};
}

// stderr may carry progress lines before it; the failure is its last line, and its only error.
void expect_one_error_line(const CliRun& r, int code, const std::string& what) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  const size_t start = r.err.rfind("portaquant: error: ");
  ASSERT_NE(start, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("portaquant: error: "), start) << r.err;
  EXPECT_THAT(r.err.substr(start), MatchesRegex("portaquant: error: [^\n]+\n")) << r.err;
  EXPECT_THAT(r.err.substr(start), HasSubstr(what));
}

std::string q(const fs::path& p) { return p.string(); }

TEST(CliContract, BadUsageIsExitCode2WithOneLine) {
  test::TempDir tmp;
  const std::string quantize = "quantize " + q(test::fixture("float_mlp")) + " -o " + q(tmp / "x") + " ";
  expect_one_error_line(run_cli(quantize + "--weights int3"), 2,
                        "--weights: 'int3' is not one of none, int2, int4, int8, float8, float8_e4m3fn, float8_e4m3fnuz, float8_e5m2");
  expect_one_error_line(run_cli(quantize + "--weights int8 --optimizer max"), 2, "--optimizer max does not apply to --weights int8");
  expect_one_error_line(run_cli(quantize + "--threads -3"), 2, "--threads: Value -3 not in range 0 to 4096");
  expect_one_error_line(run_cli(quantize + "--weights int8 --group-size 32"), 2, "--group-size applies to int2 and int4 weights");
  expect_one_error_line(run_cli(quantize + "--activations int4"), 2, "--activations: 'int4' is not one of none, int8, float8");
  expect_one_error_line(run_cli(quantize + "--activations int8"), 2, "--activations int8 needs calibration data");
  expect_one_error_line(run_cli(quantize + "--calibration-momentum 1"), 2, "--calibration-momentum must be below 1");
  expect_one_error_line(run_cli(quantize + "--frobnicate"), 2, "--frobnicate");
  expect_one_error_line(run_cli("eval " + q(kMlp) + " --data x --batch-size 0"), 2, "--batch-size: Value 0 not in range 1");
  expect_one_error_line(run_cli("quantize"), 2, "input is required");
  expect_one_error_line(run_cli("transmogrify"), 2, "transmogrify");
  EXPECT_FALSE(fs::exists(tmp / "x"));
}

TEST(CliContract, BadInputIsExitCode1NamingTheFileAndKey) {
  test::TempDir tmp;
  fs::copy(kMlp, tmp / "m", fs::copy_options::recursive);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(tmp / "m/config.json"));
  config["layers"][1]["in_features"] = 64.5;
  std::ofstream(tmp / "m/config.json", std::ios::trunc) << config.dump();
  expect_one_error_line(run_cli("inspect " + q(tmp / "m")), 1, "config.json: layers[1].in_features: expected an integer, got 64.5");
  // A FIFO in place of the weights blocked the open for ever; `timeout` turns a hang into 124.
  fs::remove(tmp / "m/model.safetensors");
  ASSERT_EQ(mkfifo((tmp / "m/model.safetensors").c_str(), 0600), 0);
  expect_one_error_line(run_cli("inspect " + q(tmp / "m"), "timeout 60"), 1, "model.safetensors: a FIFO, not a regular file");
}

// A tensor name can hold any UTF-8, control characters included: printed raw, it could clear
// the screen or forge a line of output.
TEST(CliContract, NamesFromFilesCannotForgeOutput) {
  test::TempDir tmp;
  const std::string evil = std::string("w\x1b[2J\rquantized modules: 999 \xc2\x9b") + "\nforged: yes" + std::string(5000, 'x') + ".weight";
  save_safetensors(tmp / "evil.safetensors", {{evil, Tensor::zeros(DType::F32, {2, 2})}});
  const CliRun r = run_cli("inspect " + q(tmp / "evil.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(Not(HasSubstr("\x1b")), Not(HasSubstr("\r")), Not(HasSubstr("\xc2\x9b")), Not(HasSubstr("\nforged"))));
  EXPECT_THAT(r.out, HasSubstr(R"(w\x1b[2J\rquantized modules: 999 \u009b\nforged: yes)"));
  for (size_t begin = 0, end; (end = r.out.find('\n', begin)) != std::string::npos; begin = end + 1) EXPECT_LT(end - begin, 400u);
  // The same name in an error line stays one line too.
  const CliRun e = run_cli("quantize " + q(tmp / "evil.safetensors") + " -o " + q(tmp / "o") + " --weights int4");
  expect_one_error_line(e, 1, R"(rank-2 weight(s) (w\x1b[2J\rquantized modules: 999 \u009b\nforged: yes)");
  EXPECT_THAT(e.err, Not(HasSubstr("\x1b")));
  EXPECT_LT(e.err.size() - e.err.rfind("portaquant: error: "), 2100u);  // the error line is cut
}

TEST(CliContract, VersionNamesCommitCompilerAndBackends) {
  const CliRun r = run_cli("--version");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, MatchesRegex("portaquant 0\\.1\\.0\ngit commit: [0-9a-f]+(-dirty)?\ncompiler: .+\nbackends: cpu \\(reference\\).*\n"));
}

TEST(CliContract, DevicesAndInspectSpeakJson) {
  const CliRun d = run_cli("devices --json");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  const nlohmann::json devices = nlohmann::json::parse(d.out);
  ASSERT_FALSE(devices.at("devices").empty());
  EXPECT_EQ(devices.at("devices")[0].at("id"), "cpu");

  const CliRun i = run_cli("inspect --json " + q(test::fixture("quanto_mlp_qint4")));
  ASSERT_EQ(i.exit_code, 0) << i.err;
  const nlohmann::json j = nlohmann::json::parse(i.out);
  EXPECT_EQ(j.at("quantized_modules").at("qint4"), 3);
  // The same totals the table test derives by hand (test_cli.cpp).
  EXPECT_EQ(j.at("float_model_bytes"), 208928);
  EXPECT_EQ(j.at("tensor_bytes"), 31672);
  const auto& tensors = j.at("tensors");
  const auto packed = std::find_if(tensors.begin(), tensors.end(), [](const auto& t) { return t.at("name") == "0.weight._data._data"; });
  ASSERT_NE(packed, tensors.end());
  EXPECT_EQ(packed->at("shape"), nlohmann::json({65, 64}));
  EXPECT_EQ(packed->at("qtype"), "qint4");
}

TEST(CliContract, ConformanceSpeaksJson) {
  const nlohmann::json devices = nlohmann::json::parse(run_cli("devices --json").out).at("devices");
  if (devices.size() < 2) GTEST_SKIP() << "no OpenCL or Vulkan device";
  const std::string device = devices[1].at("id");
  const CliRun r = run_cli("conformance --json --op relu --device " + device);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("results").size(), 1u);
  EXPECT_EQ(j.at("results")[0].at("op"), "relu");
  EXPECT_EQ(j.at("results")[0].at("device"), device);
  EXPECT_TRUE(j.at("results")[0].at("passed"));
  EXPECT_GT(j.at("results")[0].at("cases"), 0);
}

// `run` reshaped any input whose element count was a multiple of the sample's.
TEST(CliContract, RunChecksTheInputShapePerSample) {
  test::TempDir tmp;
  save_safetensors(tmp / "in.safetensors", {{"input", Tensor::zeros(DType::F32, {2, 64})}});
  expect_one_error_line(run_cli("run " + q(kMlp) + " --input " + q(tmp / "in.safetensors") + " --output " + q(tmp / "out.safetensors")), 1,
                        "on " + q(tmp / "in.safetensors") + ": input [2, 64] does not match the model's input_shape [1, 8, 8]");
  EXPECT_FALSE(fs::exists(tmp / "out.safetensors"));
}

// A model directory like digits_mlp whose first Linear weight holds NaN.
fs::path mlp_with_nan_weight(const test::TempDir& tmp) {
  fs::copy(kMlp, tmp / "nan", fs::copy_options::recursive);
  const SafetensorsFile file = SafetensorsFile::open(kMlp / "model.safetensors");
  NamedTensors tensors;
  for (const auto& info : file.tensors()) tensors.emplace_back(info.name, file.load(info.name).clone());
  for (auto& [name, t] : tensors) {
    if (name == "1.weight") t.data<float>()[0] = NAN;
  }
  save_safetensors(tmp / "nan/model.safetensors", tensors);
  return tmp / "nan";
}

// NaN logits were counted as class 0 (max_element over NaN returns the first element).
TEST(CliContract, EvalRefusesNaNLogits) {
  test::TempDir tmp;
  expect_one_error_line(run_cli("eval " + q(mlp_with_nan_weight(tmp)) + " --data " + q(kData / "digits_test.safetensors")), 1,
                        "hold NaN: no class can be predicted");
}

// Calibration on all-zero images saved output scales of 0 (every later input quantized to 0),
// on NaN images scales of NaN, both with exit code 0.
TEST(CliContract, CalibrationOnDegenerateDataSavesNothing) {
  test::TempDir tmp;
  save_safetensors(tmp / "zeros.safetensors", {{"images", Tensor::zeros(DType::F32, {4, 1, 8, 8})}});
  const std::string quantize = "quantize " + q(kMlp) + " -o " + q(tmp / "out") + " --weights int8 --activations int8 --calibration ";
  expect_one_error_line(run_cli(quantize + q(tmp / "zeros.safetensors")), 1, "saw only zeros at its");
  EXPECT_FALSE(fs::exists(tmp / "out"));
  Tensor nan = Tensor::zeros(DType::F32, {4, 1, 8, 8});
  nan.data<float>()[5] = NAN;
  save_safetensors(tmp / "nan.safetensors", {{"images", nan}});
  expect_one_error_line(run_cli(quantize + q(tmp / "nan.safetensors")), 1, "holds NaN or infinity");
  EXPECT_FALSE(fs::exists(tmp / "out"));
}

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A full disk (here: the file-size limit, EFBIG) fails the run: no output directory, no
// staging directory, no temporary file, exit code 1 — also when it is a copied companion file
// (tokenizer.json) that does not fit.
TEST(CliContract, AFailedWriteLeavesNothing) {
  test::TempDir tmp;
  fs::copy(kMlp, tmp / "m", fs::copy_options::recursive);
  std::ofstream(tmp / "m/tokenizer.json") << std::string(3 << 20, ' ');
  const CliRun r = run_cli("quantize " + q(tmp / "m") + " -o " + q(tmp / "out") + " --weights int8", "ulimit -f 2048;");
  expect_one_error_line(r, 1, "File too large");
  EXPECT_EQ(entries_of(tmp.path()), std::vector<std::string>{"m"});
  EXPECT_EQ(run_cli("quantize " + q(tmp / "m") + " -o " + q(tmp / "out") + " --weights int8").exit_code, 0);
  EXPECT_EQ(fs::file_size(tmp / "out/tokenizer.json"), size_t{3} << 20);
}

// --force replaced whatever OUT_DIR was: a device node (as root, `--output /dev/null` replaced
// the node), a FIFO, a symbolic link, a directory of other files, the input itself.
TEST(CliContract, ForceReplacesOnlyAModelDirectoryItWrote) {
  test::TempDir tmp;
  const std::string quantize = "quantize " + q(kMlp) + " --weights int8 --force -o ";
  ASSERT_EQ(mkfifo((tmp / "fifo").c_str(), 0600), 0);
  expect_one_error_line(run_cli(quantize + q(tmp / "fifo")), 1, "fifo is not a directory; --force only replaces a model directory");
  EXPECT_TRUE(fs::is_fifo(tmp / "fifo"));
  if (geteuid() == 0) {
    ASSERT_EQ(mknod((tmp / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);  // a /dev/null of our own
    expect_one_error_line(run_cli(quantize + q(tmp / "null")), 1, "null is not a directory");
    EXPECT_TRUE(fs::is_character_file(tmp / "null"));
  }
  fs::create_directories(tmp / "elsewhere");
  fs::create_directory_symlink(tmp / "elsewhere", tmp / "link");
  expect_one_error_line(run_cli(quantize + q(tmp / "link")), 1, "link is a symbolic link");
  fs::create_directories(tmp / "home");
  std::ofstream(tmp / "home/notes.txt") << "mine";
  expect_one_error_line(run_cli(quantize + q(tmp / "home")), 1, "holds 'notes.txt', which is no model file");
  EXPECT_TRUE(fs::exists(tmp / "home/notes.txt"));
  fs::copy(kMlp, tmp / "m", fs::copy_options::recursive);
  expect_one_error_line(run_cli("quantize " + q(tmp / "m") + " --weights int8 --force -o " + q(tmp / "m")), 1, "holds the input");
  EXPECT_TRUE(fs::exists(tmp / "m/model.safetensors"));
  // A directory portaquant wrote is replaced, atomically, leaving no sibling behind.
  ASSERT_EQ(run_cli("quantize " + q(kMlp) + " --weights int4 -o " + q(tmp / "out")).exit_code, 0);
  const CliRun again = run_cli(quantize + q(tmp / "out"));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(read_text(tmp / "out/quanto_qmap.json"), HasSubstr("qint8"));
  for (const auto& name : entries_of(tmp.path())) EXPECT_FALSE(name.starts_with(".out")) << name;
}

// A file output whose place holds a device node, a FIFO or a directory is refused: rename()
// would replace it.
TEST(CliContract, FileOutputsDoNotReplaceSpecialFiles) {
  test::TempDir tmp;
  save_safetensors(tmp / "in.safetensors", {{"input", Tensor::zeros(DType::F32, {2, 1, 8, 8})}});
  ASSERT_EQ(mkfifo((tmp / "out.safetensors").c_str(), 0600), 0);
  expect_one_error_line(run_cli("run " + q(kMlp) + " --input " + q(tmp / "in.safetensors") + " --output " + q(tmp / "out.safetensors")), 1,
                        "out.safetensors: it exists and is not a regular file");
  EXPECT_TRUE(fs::is_fifo(tmp / "out.safetensors"));
}

}  // namespace
}  // namespace pq
