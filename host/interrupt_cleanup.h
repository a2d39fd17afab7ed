// Files and directories that must not outlive an interrupted run (a staging directory, the
// temporary file of an atomic write): they register here while they exist, and a program that
// calls install_interrupt_cleanup() removes them when SIGINT, SIGTERM or SIGHUP arrives, then
// dies of that signal as it would have (exit status 128 + N in a shell).
#pragma once

#include <filesystem>

namespace pq {

// Registers `path` (removed recursively on interrupt) for the lifetime of the object.
class RemoveOnInterrupt {
 public:
  explicit RemoveOnInterrupt(std::filesystem::path path);
  ~RemoveOnInterrupt();
  RemoveOnInterrupt(const RemoveOnInterrupt&) = delete;
  RemoveOnInterrupt& operator=(const RemoveOnInterrupt&) = delete;

 private:
  std::filesystem::path path_;
};

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in every thread it starts
// later) and starts a thread that waits for them. Call it first thing in main(), before any
// other thread exists; a second call does nothing.
void install_interrupt_cleanup();

}  // namespace pq
