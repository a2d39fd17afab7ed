// Hidden siblings that a writer names after its target and its process id
// (".<name><tag><pid>.<random>": staging directories, temporary files of atomic writes) are
// removed by the next writer of the same target once the process that made them is gone, so
// a killed run (SIGKILL, a power cut) leaves nothing behind for long.
#pragma once

#include <filesystem>

namespace pq {

// Removes ".<target name><tag><pid>.*" next to `target` for every pid that no longer runs on
// this machine. Errors are ignored: this is housekeeping, never a reason to fail a write.
void remove_stale_siblings(const std::filesystem::path& target, const char* tag);

}  // namespace pq
