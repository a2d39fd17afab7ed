// What a run leaves on disk when it fails, is interrupted or was killed, and what it does when
// a file it reads changes under it: staging directories and temporary files are removed (on
// SIGINT/SIGTERM/SIGHUP, or by the next run once their process is gone), a directory is
// replaced in one atomic exchange, and a file truncated while mapped is an error, not SIGBUS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "host/atomic_file.h"
#include "host/interrupt_cleanup.h"
#include "host/mapped_file_guard.h"
#include "host/safetensors.h"
#include "host/staging_dir.h"
#include "tests/test_support.h"

namespace pq {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The pid of a process that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

void interrupted_while_staging(const fs::path& target, int signal) {
  install_interrupt_cleanup();
  StagingDir staging(target);
  std::ofstream(staging.path() / "model.safetensors") << "half written";
  AtomicFileWriter writer(target.parent_path() / "side.json");
  writer.write("{");
  ::kill(::getpid(), signal);
  for (;;) ::pause();  // the cleanup thread removes both and lets the signal kill the process
}

TEST(Interrupt, SignalsRemoveTheStagingDirectoryAndTemporaryFiles) {
  for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
    test::TempDir tmp;
    EXPECT_EXIT(interrupted_while_staging(tmp / "out", signal), ::testing::KilledBySignal(signal), "") << strsignal(signal);
    EXPECT_TRUE(entries_of(tmp.path()).empty()) << strsignal(signal) << ": " << ::testing::PrintToString(entries_of(tmp.path()));
  }
}

TEST(StaleFiles, LeftoversOfDeadProcessesAreRemovedByTheNextRun) {
  test::TempDir tmp;
  const std::string dead = std::to_string(dead_pid()), alive = std::to_string(::getpid());
  for (const std::string& name : {".out.partial." + dead + ".7", ".out.old." + dead + ".8", ".out.partial." + alive + ".9",
                                  ".other.partial." + dead + ".1"}) {
    fs::create_directories(tmp / name);
    std::ofstream(tmp / name / "config.json") << "{}";
  }
  std::ofstream(tmp / (".x.json.tmp." + dead + ".00ff")) << "{";
  {
    StagingDir staging(tmp / "out");
    write_file_atomically(tmp / "x.json", "{}");
  }
  // Ours (alive) and other targets' are kept; the dead process's siblings of "out" and "x.json" are gone.
  EXPECT_THAT(entries_of(tmp.path()), ElementsAre(".other.partial." + dead + ".1", ".out.partial." + alive + ".9", "x.json"));
}

TEST(StagingDir, ReplacingExchangesTheDirectoriesAtomically) {
  test::TempDir tmp;
  const fs::path out = tmp / "out";
  fs::create_directories(out);
  std::ofstream(out / "config.json") << "old";
  std::ofstream(out / "model-00001-of-00002.safetensors") << "old shard";
  {
    StagingDir staging(out);
    std::ofstream(staging.path() / "config.json") << "new";
    EXPECT_THROW(staging.publish_as(out, false), std::invalid_argument);
    staging.publish_as(out, true);
  }
  EXPECT_THAT(entries_of(tmp.path()), ElementsAre("out"));
  EXPECT_THAT(entries_of(out), ElementsAre("config.json"));
  std::ifstream in(out / "config.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "new");
}

void read_after_truncation(const fs::path& path) {
  install_mapped_file_fault_handler("portaquant: error: ", 1);
  const SafetensorsFile file = SafetensorsFile::open(path);
  const Tensor t = file.load("w");
  fs::resize_file(path, 8);  // another process truncating the file
  volatile float sum = 0.0f;
  for (int64_t i = 0; i < t.numel(); ++i) sum = sum + t.data<float>()[i];
  std::_Exit(0);
}

TEST(MappedFiles, ATruncatedFileIsAnErrorNotSigbus) {
  test::TempDir tmp;
  save_safetensors(tmp / "w.safetensors", {{"w", Tensor::zeros(DType::F32, {1 << 16})}});  // 256 KiB: pages past the new end
  EXPECT_EXIT(read_after_truncation(tmp / "w.safetensors"), ::testing::ExitedWithCode(1),
              "portaquant: error: .*w\\.safetensors: the file was truncated or replaced while it was being read");
}

}  // namespace
}  // namespace pq
