// A directory that appears complete or not at all: everything is written into a hidden sibling
// (".<name>.partial.<pid>.<random>") that is renamed into place by publish_as(); if that never
// happens (an exception, an interrupted run that unwinds, SIGINT/SIGTERM/SIGHUP with
// install_interrupt_cleanup()), the sibling is removed. Siblings left by a process that died
// without cleaning up (SIGKILL, a power cut) are removed by the next StagingDir for the same
// target.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

namespace pq {

class RemoveOnInterrupt;

class StagingDir {
 public:
  // Creates a fresh staging directory next to `target`.
  explicit StagingDir(const std::filesystem::path& target);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

  // Renames the staging directory to `target`. An existing target is replaced only with
  // `overwrite` and only when check_output_dir_free() allows it; the replacement is one atomic
  // exchange of the two directories, so `target` is never missing, and the old contents are
  // removed afterwards.
  void publish_as(const std::filesystem::path& target, bool overwrite);

 private:
  std::filesystem::path path_;
  std::unique_ptr<RemoveOnInterrupt> on_interrupt_;
  bool published_ = false;
};

// Throws std::invalid_argument when `target` exists and may not be replaced: without
// `overwrite` (suggesting --force); and even with it when `target` is not a directory (a file,
// a FIFO, a device node), is a symbolic link, holds anything but the files of a model
// directory (model_dir_files.h), or is or contains one of `inputs`.
void check_output_dir_free(const std::filesystem::path& target, bool overwrite,
                           const std::vector<std::filesystem::path>& inputs = {});

}  // namespace pq
