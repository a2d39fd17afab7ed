// The portaquant command line, run as a user runs it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sys/wait.h>

#include "tests/test_support.h"

namespace pq {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr together
};

CliRun run_cli(const std::string& args) {
  const std::string command = std::string(PORTAQUANT_CLI_PATH) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed");
  std::string output;
  std::array<char, 4096> buffer{};
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(Cli, InspectReportsQtypesTotalsAndCompression) {
  const CliRun r = run_cli("inspect " + test::fixture("quanto_mlp_qint4").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("0.weight._data._data"));
  EXPECT_THAT(r.output, HasSubstr("uint8"));
  EXPECT_THAT(r.output, HasSubstr("[65, 64]"));
  EXPECT_THAT(r.output, HasSubstr("3 × qint4"));
  // float model: 4·(129·64 + 129 + 320·129 + 320 + 7·320 + 7) = 208,928 bytes. The file holds
  // module 0: 4,160 + 3·516 + 2·4 = 5,716; module 2: 20,640 + 3·1,280 + 8 = 24,488;
  // module 4: 1,152 + 2·140 + 28 + 8 = 1,468; in all 31,672 bytes, 6.597× smaller.
  EXPECT_THAT(r.output, HasSubstr("float model: 208,928 bytes"));
  EXPECT_THAT(r.output, HasSubstr("total: 31,672 bytes"));
  EXPECT_THAT(r.output, HasSubstr("compression 6.60×"));
}

TEST(Cli, QuantizeThenInspectOurOwnOutput) {
  test::TempDir tmp;
  const CliRun q = run_cli("quantize " + test::fixture("float_mlp").string() + " -o " + (tmp / "m").string() +
                        " --weights int4 --optimizer hqq --group-size 32 --include '*' --exclude 2");
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_THAT(q.output, HasSubstr("quantized 2 modules to qint4"));
  const CliRun r = run_cli("inspect " + (tmp / "m").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("0: qint4 [129, 64] group size 32, hqq"));
  EXPECT_THAT(r.output, HasSubstr("2 × qint4"));
}

TEST(Cli, BadInputGivesOneLineAndExitCode1) {
  test::TempDir tmp;
  {
    std::ofstream truncated(tmp / "bad.safetensors", std::ios::binary);
    truncated << "\x10\x00\x00";
  }
  const std::string cases[] = {
      "inspect " + (tmp / "bad.safetensors").string(),
      "inspect " + (tmp / "missing").string(),
      "quantize " + (tmp / "missing").string() + " -o " + (tmp / "x").string() + " --weights int4 --include '*'",
  };
  for (const auto& args : cases) {
    const CliRun r = run_cli(args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    // The error is the last line (progress lines may come before it), and the only error.
    EXPECT_THAT(r.output, MatchesRegex("([^\n]*\n)*portaquant: error: [^\n]+\n")) << args;
    EXPECT_EQ(r.output.find("portaquant: error:"), r.output.rfind("portaquant: error:")) << args;
  }
  EXPECT_FALSE(std::filesystem::exists(tmp / "x"));
}

}  // namespace
}  // namespace pq
