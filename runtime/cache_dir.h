// Where the backends keep compiled kernels between processes: $PORTAQUANT_CACHE_DIR, else
// $XDG_CACHE_HOME/portaquant, else ~/.cache/portaquant. Each API uses a subfolder.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace pq::rt {

// nullopt when none of the variables is set (no cache then, never an error).
std::optional<std::filesystem::path> kernel_cache_dir(std::string_view api_subfolder);

}  // namespace pq::rt
