// A directory that appears complete or not at all: everything is written into a hidden sibling
// (".<name>.partial.<pid>.<random>") that is renamed into place by publish_as(); if that never
// happens (an exception, an interrupted run that unwinds), the sibling is removed.
#pragma once

#include <filesystem>

namespace pq {

class StagingDir {
 public:
  // Creates a fresh staging directory next to `target`.
  explicit StagingDir(const std::filesystem::path& target);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

  // Renames the staging directory to `target`; an existing target is replaced only with
  // `overwrite` (else std::invalid_argument suggesting --force).
  void publish_as(const std::filesystem::path& target, bool overwrite);

 private:
  std::filesystem::path path_;
  bool published_ = false;
};

// Throws std::invalid_argument when `target` exists and may not be replaced.
void check_output_dir_free(const std::filesystem::path& target, bool overwrite);

}  // namespace pq
